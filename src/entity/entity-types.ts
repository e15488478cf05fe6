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
