/**
 * What an entity type is served with: handlers that get the entity (its key
 * and its state) beside their input and context, the state of a key never
 * saved, which methods only read, and where state is kept.
 */
import type { CallContext, ServerInterceptor } from "../rpc/context.ts";
import type { Contract, MethodDef } from "../rpc/contract.ts";
import type { AnySchema, SchemaInput, SchemaOutput } from "../rpc/schema.ts";
import type { EntityStore } from "./store.ts";

/** The entity a turn runs on. */
export interface Entity<S> {
  /** Its key: what callers address it by (`entities(node, C).for(key)`). */
  readonly key: string;
  /**
   * Its state. A write turn may replace it (`entity.state = next`) or change
   * it; what it holds when the handler returns is saved before the caller is
   * answered. A read-only turn may not assign it (a TypeError). When a write
   * turn throws, nothing it did to the state is kept.
   */
  state: S;
  /**
   * Sets the reminder `name` (one of the type's `reminders`) to fire in
   * `inMs` ms, replacing one of that name already set. Saved with the state
   * at the end of the turn, so it survives restarts and hand-offs: when due,
   * the key's owner runs the reminder's handler as a write turn. Write turns
   * only (a TypeError in a read turn).
   */
  remind(name: string, inMs: number): void;
  /** Cancels the reminder `name`, if set. Write turns only. */
  forget(name: string): void;
  /** The reminders set now: name → when due (ms since the epoch). */
  readonly reminders: Readonly<Record<string, number>>;
}

/** A reminder that came due, as its handler gets it. */
export interface DueReminder {
  readonly name: string;
  /** When it was due (ms since the epoch); it fires within about half a second of it. */
  readonly due: number;
}

/** The handler of one method of an entity type: unary methods only. */
export type EntityHandlerOf<D, S> =
  D extends MethodDef<"unary", infer I extends AnySchema, infer O extends AnySchema>
    ? (input: SchemaOutput<I>, entity: Entity<S>, ctx: CallContext) => SchemaInput<O> | Promise<SchemaInput<O>>
    : never;

/** Handlers for every method of an entity type's contract. */
export type EntityHandlers<C extends Contract, S> = { [K in keyof C["methods"]]: EntityHandlerOf<C["methods"][K], S> };

/** How an entity type is served: `serveEntity(node, contract, options)`. */
export interface EntityTypeOptions<C extends Contract, S> {
  /** The handlers, one per method of the contract. */
  handlers: EntityHandlers<C, S>;
  /** The state of a key never saved (or deleted). */
  initial(key: string): S;
  /**
   * Durable timers: name → what to do when a reminder of that name, set with
   * `entity.remind(name, inMs)`, comes due. Each runs as a write turn of its
   * entity on the key's owner, wherever and whenever that is (after restarts,
   * on another node after a hand-off). A reminder fires once; the handler may
   * set it again. One whose handler throws fires again at the next scan.
   */
  reminders?: Record<string, (entity: Entity<S>, reminder: DueReminder) => void | Promise<void>>;
  /**
   * Methods that only read the state: their turns run alongside other reads
   * of the same key, save nothing, and may not assign `entity.state`.
   */
  readOnly?: ReadonlyArray<keyof C["methods"] & string>;
  /**
   * Where states, leases and idempotency records are kept. Every node that
   * serves the type must use the same one (Redis, PostgreSQL, NATS JetStream
   * KV). Default: a directory store of this node alone, in `dir`: for one
   * node; calls are refused while another node serves the type.
   */
  store?: EntityStore;
  /** The default store's directory. Default: `.amoeba/entities/<contract name>` under the working directory. */
  dir?: string;
  /** The ownership lease's TTL, in ms: how long a crashed owner's keys wait before another node takes them. Default 10 000. */
  leaseMs?: number;
  /** Passivate an entity after this long without a call, in ms. Default 300 000. */
  idleMs?: number;
  /** How long an idempotency key's record is kept, in ms. Default 24 h. */
  retainMs?: number;
  /** At most this many idempotency records per entity (the oldest go first). Default 1000. */
  maxRecords?: number;
  /** Calls of this type that run at once on this node (as `serve`'s option). */
  concurrency?: number;
  /** Server interceptors of this type's calls, inside the node's own (as `serve`'s option). */
  interceptors?: readonly ServerInterceptor[];
}

/** An entity type served on a node. */
export interface ServedEntityType {
  /** The contract's name. */
  readonly name: string;
  /** The keys active on this node now. */
  keys(): string[];
  /** Ends the activation of `key` here: turns queued finish, its lease is released. */
  passivate(key: string): Promise<void>;
  /** Stops serving the type: refuses new calls, finishes the turns in flight, gives every key up. */
  stop(): Promise<void>;
}
