/**
 * Serving a contract as an entity type: every call names an entity key
 * (`amoeba-entity` metadata); the node that owns the key runs it as a turn of
 * that entity, on state kept in a store; any other node passes it on to the
 * owner once. When the owners change (a node joins, leaves or dies), each
 * node gives up the keys it no longer owns — turns in flight finish, the
 * lease is released — and the new owner activates them from the store; a
 * call that reaches the new owner before the old one let go waits for the
 * lease, within its deadline. See docs/entities.md.
 */
import { join } from "node:path";
import type { ServiceBalancer } from "../balance/service-balancer.ts";
import type { Target } from "../balance/target.ts";
import type { NodeCore } from "../node/core.ts";
import { nodeInternals, type Node } from "../node/node.ts";
import type { CallContext, CallRequest, Handlers } from "../rpc/context.ts";
import { contract as makeContract, unary, type Contract } from "../rpc/contract.ts";
import { ENTITY_FORWARDED_META, ENTITY_META, IDEMPOTENCY_META, MAX_KEY_LENGTH } from "../rpc/keyed-meta.ts";
import { isRpcError, RpcError } from "../rpc/rpc-error.ts";
import { emptyInput } from "../rpc/plain-schema.ts";
import { compatibleRange } from "../rpc/version.ts";
import { openDirectoryStore } from "./directory-store.ts";
import { entities, type EntityClient } from "./entity-client.ts";
import type { Entity, EntityTypeOptions, ServedEntityType } from "./entity-types.ts";
import { Ownership } from "./ownership.ts";
import { earliestDue, REMINDER_BUCKETS, ReminderIndex } from "./reminder-index.ts";
import { readView, TurnEntity } from "./turn-entity.ts";
import type { EntityStore } from "./store.ts";
import { StoredEntities } from "./stored-entities.ts";

/** How often a node looks whether the owners of its active keys changed, in ms (it does so only when its view did). */
const REBALANCE_MS = 100;
/** How often the owner of a reminder bucket looks for reminders due. */
const REMINDER_SCAN_MS = 500;

type EntityHandler = (input: unknown, entity: Entity<unknown>, ctx: CallContext) => unknown;
type ReminderHandler = NonNullable<EntityTypeOptions<Contract, unknown>["reminders"]>[string];

/** What a call is, for passing it on: its service (the type's, or its reminders') and method. */
interface Route {
  readonly service: string;
  /** The version range a call passed on asks for. */
  readonly version: string;
  readonly method: string;
  readonly idempotent: boolean;
}

/** The built-in contract through which a reminder bucket's owner wakes the owner of a key that is due. */
function remindersContract(type: string) {
  return makeContract(`amoeba.reminders.${type}`, "1.0.0", {
    fire: unary({ input: emptyInput, output: emptyInput, description: `Runs the reminders of one ${type} entity that are due.` }),
  });
}

/**
 * Serves `contract` on `node` as an entity type: calls address one entity by
 * key (`entities(node, contract).for(key)`), the cluster gives each key one
 * owner among the nodes serving the type, turns of one key run one at a time
 * (reads together), and each write turn's state is saved in the store before
 * its caller is answered. Resolves once the store is open and the type is
 * served; the node gives its keys up when it closes.
 *
 * @throws TypeError when a method is not unary, a handler is missing, or `readOnly` names a method the contract lacks.
 */
export function serveEntity<C extends Contract, S>(node: Node, contract: C, options: EntityTypeOptions<C, S>): Promise<ServedEntityType> {
  return serveEntityType(node, contract, options, undefined);
}

/** {@link serveEntity}, with calls for any key but `onlyKey` refused when it is given (a singleton's). */
export async function serveEntityType<C extends Contract, S>(node: Node, contract: C, options: EntityTypeOptions<C, S>, onlyKey: string | undefined): Promise<ServedEntityType> {
  checkOptions(contract, options as unknown as EntityTypeOptions<Contract, unknown>);
  const owned = options.store === undefined;
  const store = options.store ?? (await openDirectoryStore({ dir: options.dir ?? join(process.cwd(), ".amoeba", "entities", contract.name) }));
  try {
    return new EntityServer(node, contract, options as unknown as EntityTypeOptions<Contract, unknown>, store, owned, onlyKey);
  } catch (error) {
    if (owned) await store.close();
    throw error;
  }
}

class EntityServer implements ServedEntityType {
  readonly name: string;
  readonly #core: NodeCore;
  readonly #range: string;
  readonly #store: EntityStore;
  readonly #ownsStore: boolean;
  readonly #entities: StoredEntities<unknown>;
  readonly #balancer: ServiceBalancer;
  readonly #ownership: Ownership;
  readonly #leaseMs: number;
  readonly #unserve: () => void;
  readonly #timer: NodeJS.Timeout;
  readonly #closing: () => Promise<void>;
  readonly #onlyKey: string | undefined;
  readonly #reminders: Readonly<Record<string, ReminderHandler>>;
  readonly #reminderNames: ReadonlySet<string>;
  /** The reminder index, when the type has reminders; with the client that wakes due keys and its scan. */
  readonly #index: ReminderIndex | undefined;
  readonly #wake: EntityClient<ReturnType<typeof remindersContract>> | undefined;
  readonly #scan: NodeJS.Timeout | undefined;
  #scanning = false;
  #epoch = -1;
  #stopped: Promise<void> | undefined;

  constructor(node: Node, contract: Contract, options: EntityTypeOptions<Contract, unknown>, store: EntityStore, ownsStore: boolean, onlyKey: string | undefined) {
    const core = nodeInternals(node);
    this.#onlyKey = onlyKey;
    this.name = contract.name;
    this.#core = core;
    this.#range = compatibleRange(contract.version);
    this.#store = store;
    this.#ownsStore = ownsStore;
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#entities = new StoredEntities<unknown>({
      store,
      owner: node.name,
      // Entity types may share a store: each keeps its keys under its own name.
      namespace: `${contract.name}:`,
      initial: options.initial,
      leaseMs: this.#leaseMs,
      idleMs: options.idleMs,
      retainMs: options.retainMs,
      maxRecords: options.maxRecords,
      onError: (key, error) => core.logger.warn({ err: error, service: contract.name, key }, "an entity was given up: its passivation failed, or its lease was taken"),
    });
    this.#balancer = core.balancers.of(contract.name, this.#range, undefined);
    this.#ownership = new Ownership(core.id, this.#balancer);
    const readOnly = new Set<string>(options.readOnly ?? []);
    const handlers: Record<string, (input: unknown, ctx: CallContext) => Promise<unknown>> = {};
    for (const [method, def] of Object.entries(contract.methods)) {
      const handler = (options.handlers as Record<string, EntityHandler>)[method]!;
      const route: Route = { service: contract.name, version: this.#range, method, idempotent: def.idempotent };
      handlers[method] = (input, ctx) => this.#call(route, handler, readOnly.has(method), input, ctx);
    }
    const serveOptions = { concurrency: options.concurrency, interceptors: options.interceptors };
    const unserve = [node.serve(contract, handlers as Handlers<Contract>, serveOptions)];
    this.#reminders = options.reminders ?? {};
    this.#reminderNames = new Set(Object.keys(this.#reminders));
    if (this.#reminderNames.size > 0) {
      const reminders = remindersContract(contract.name);
      const route: Route = { service: reminders.name, version: compatibleRange(reminders.version), method: "fire", idempotent: false };
      unserve.push(node.serve(reminders, { fire: (input, ctx) => this.#fire(route, input, ctx) }, serveOptions));
      this.#index = new ReminderIndex(store, contract.name);
      this.#wake = entities(node, reminders);
      this.#scan = setInterval(() => void this.#scanReminders(), REMINDER_SCAN_MS).unref();
    }
    this.#unserve = () => unserve.forEach((stop) => stop());
    this.#timer = setInterval(() => this.#rebalance(), REBALANCE_MS).unref();
    this.#closing = () => this.stop();
    core.closing.add(this.#closing);
  }

  keys(): string[] {
    return this.#entities.keys();
  }

  passivate(key: string): Promise<void> {
    return this.#entities.passivate(key);
  }

  stop(): Promise<void> {
    if (this.#stopped === undefined && !this.#core.dispatcher.draining) this.#unserve();
    return this.#release();
  }

  /** Gives every key up (turns queued finish first) and closes a store of its own. */
  #release(): Promise<void> {
    this.#stopped ??= (async () => {
      clearInterval(this.#timer);
      clearInterval(this.#scan);
      this.#core.closing.delete(this.#closing);
      try {
        await this.#entities.close();
      } finally {
        if (this.#ownsStore) await this.#store.close();
      }
    })();
    return this.#stopped;
  }

  async #call(route: Route, handler: EntityHandler, readOnly: boolean, input: unknown, ctx: CallContext, key = keyOf(ctx, this.name)): Promise<unknown> {
    const { method } = route;
    if (this.#onlyKey !== undefined && key !== this.#onlyKey) {
      throw new RpcError("INVALID_ARGUMENT", `${this.name}.${method}: ${this.name} is a singleton: its one entity is ${JSON.stringify(this.#onlyKey)} (call it with singleton(node, ${this.name}))`, { unprocessed: true });
    }
    const started = Date.now();
    let ownerAway = false;
    for (let attempt = 0; ; attempt++) {
      const owner = ownerAway ? undefined : this.#ownership.ownerOf(key);
      if (owner !== undefined) {
        try {
          return await this.#forward(owner, key, route, input, ctx);
        } catch (error) {
          // The owner this node sees is closing, or cannot be reached: the lease decides whether
          // this node may run the turn instead (a closing owner lets its keys go as it drains).
          if (!unreachable(error) || ctx.meta[ENTITY_FORWARDED_META] !== undefined) throw error;
          ownerAway = true;
          continue;
        }
      }
      if (this.#ownsStore && this.#ownership.others() > 0) throw this.#storeNotShared(key);
      if (ctx.deadline !== undefined && Date.now() >= ctx.deadline) {
        throw new RpcError("DEADLINE_EXCEEDED", `${this.name}.${method}: the deadline passed while the call waited for its turn on entity ${JSON.stringify(key)}; not processed`, { unprocessed: true });
      }
      try {
        const result = readOnly
          ? await this.#entities.read(key, (state, _key, reminders) => handler(input, readView(key, state, reminders), ctx))
          : await this.#entities.write(key, (state, _key, reminders) => this.#writeTurn(key, handler, input, ctx, state, reminders), idempotencyKeyOf(ctx));
        if (ownerAway) this.#letGoUnlessOwned(key);
        return result;
      } catch (error) {
        // Held by another node that has not let go yet (a hand-off under way, or a crashed owner's lease running out).
        if (!heldElsewhere(error)) throw error;
        const wait = Math.min(250, 25 * 2 ** attempt) * (0.5 + Math.random() / 2);
        const until = ctx.deadline ?? started + 2 * this.#leaseMs + 1_000;
        if (Date.now() + wait >= until || !(await pause(wait, ctx))) throw error;
      }
    }
  }

  /** One write turn: the handler, then — before the save — the reminder index when a reminder comes due sooner. */
  async #writeTurn(key: string, handler: EntityHandler, input: unknown, ctx: CallContext, state: unknown, reminders: Readonly<Record<string, number>>) {
    const entity = new TurnEntity(this.name, key, state, reminders, this.#reminderNames);
    const result = await handler(input, entity, ctx);
    const next = entity.changedReminders;
    if (next !== undefined && this.#index !== undefined) {
      const soonest = earliestDue(next);
      const before = earliestDue(reminders);
      if (soonest !== undefined && (before === undefined || soonest < before)) await this.#index.set(key, soonest);
    }
    return { state: entity.state, result, ...(next === undefined ? {} : { reminders: next }) };
  }

  /** Runs the reminders of the call's key that are due, in one write turn, then sets its index entry right. */
  async #fire(route: Route, input: unknown, ctx: CallContext): Promise<Record<string, never>> {
    const key = keyOf(ctx, this.name);
    let after: Readonly<Record<string, number>> | undefined;
    const handler: EntityHandler = async (_input, entity) => {
      const now = Date.now();
      const due = Object.entries(entity.reminders)
        .filter(([, at]) => at <= now)
        .sort((a, b) => a[1] - b[1]);
      for (const [name, at] of due) {
        entity.forget(name);
        await this.#reminders[name]!(entity, { name, due: at });
      }
      after = entity.reminders;
      return {};
    };
    await this.#call(route, handler, false, input, ctx, key);
    // Run here only when this node owned the key (otherwise the owner did it).
    if (after !== undefined) await this.#index!.set(key, earliestDue(after));
    return {};
  }

  /** The buckets of the reminder index this node owns: wakes every key in them that is due. */
  async #scanReminders(): Promise<void> {
    if (this.#scanning || this.#core.dispatcher.draining) return;
    this.#scanning = true;
    try {
      const now = Date.now();
      for (let bucket = 0; bucket < REMINDER_BUCKETS; bucket++) {
        if (this.#ownership.ownerOf(this.#index!.bucketName(bucket)) !== undefined) continue;
        const due = await this.#index!.due(bucket, now);
        await Promise.all(
          due.map((key) =>
            this.#wake!.for(key)
              .fire({}, { timeout: 10_000 })
              .catch((error: unknown) => this.#core.logger.debug({ err: error, service: this.name, key }, "a reminder could not run; it is tried again")),
          ),
        );
      }
    } catch (error) {
      this.#core.logger.warn({ err: error, service: this.name }, "scanning the reminder index failed");
    } finally {
      this.#scanning = false;
    }
  }

  /** Passes a call on to the key's owner, once: a call passed on already is refused instead. */
  #forward(owner: Target, key: string, route: Route, input: unknown, ctx: CallContext): Promise<unknown> {
    const { method } = route;
    const from = ctx.meta[ENTITY_FORWARDED_META];
    if (from !== undefined) {
      throw new RpcError(
        "UNAVAILABLE",
        `${this.name}.${method}: node ${from} passed this call for entity ${JSON.stringify(key)} to node ${this.#core.name}, which sees node ${owner.name} as its owner; not processed — retry once the views agree`,
        { unprocessed: true, details: { key, owner: owner.name } },
      );
    }
    const request: CallRequest = {
      service: route.service,
      method,
      kind: "unary",
      version: route.version,
      input,
      deadline: ctx.deadline,
      signal: undefined,
      parent: ctx,
      meta: { ...ctx.meta, ...ctx.forwardMeta, [ENTITY_FORWARDED_META]: this.#core.name },
      onMeta: (meta) => Object.assign(ctx.responseMeta, meta),
      idempotent: route.idempotent,
      serverMicros: undefined,
      attempts: undefined,
    };
    return this.#core.chain((onward) => owner.invoke(onward))(request) as Promise<unknown>;
  }

  /** After a turn run for an owner that could not be reached: the key goes back (its lease released) while this node's view names another owner. */
  #letGoUnlessOwned(key: string): void {
    if (this.#ownership.ownerOf(key) === undefined) return;
    this.#entities.passivate(key).catch((error: unknown) => this.#core.logger.warn({ err: error, service: this.name, key }, "an entity's hand-off failed"));
  }

  /** When this node's view changed: gives up the active keys it no longer owns. */
  #rebalance(): void {
    // A node that is closing refuses new calls: each key is given up as soon as its queued turns are done.
    if (this.#core.dispatcher.draining) {
      void this.#release();
      return;
    }
    const epoch = this.#core.epoch;
    if (epoch === this.#epoch) return;
    this.#epoch = epoch;
    for (const key of this.#entities.keys()) {
      const owner = this.#ownership.ownerOf(key);
      if (owner === undefined) continue;
      this.#core.logger.debug({ service: this.name, key, owner: owner.name }, "handing an entity off");
      this.#entities.passivate(key).catch((error: unknown) => this.#core.logger.warn({ err: error, service: this.name, key }, "an entity's hand-off failed"));
    }
  }

  #storeNotShared(key: string): RpcError {
    return new RpcError(
      "FAILED_PRECONDITION",
      `${this.name}: entity ${JSON.stringify(key)} not served: ${this.#ownership.others() + 1} nodes serve entity type ${this.name}, but node ${this.#core.name} keeps its entities in a directory of its own; give every node one shared store (Redis, PostgreSQL, NATS JetStream KV)`,
      { unprocessed: true, details: { key } },
    );
  }
}

function checkOptions(contract: Contract, options: EntityTypeOptions<Contract, unknown>): void {
  if (typeof options?.initial !== "function") throw new TypeError(`serveEntity(${contract.name}): options.initial must be a function (key) => the state of a new entity`);
  for (const [method, def] of Object.entries(contract.methods)) {
    if (def.kind !== "unary") throw new TypeError(`serveEntity(${contract.name}): method ${method} is ${def.kind}; an entity type's methods must be unary`);
    if (typeof (options.handlers as Record<string, unknown> | undefined)?.[method] !== "function") throw new TypeError(`serveEntity(${contract.name}): no handler for method ${method}`);
  }
  for (const method of options.readOnly ?? []) {
    if (!Object.hasOwn(contract.methods, method)) throw new TypeError(`serveEntity(${contract.name}): readOnly names method ${String(method)}, which the contract does not have`);
  }
}

function keyOf(ctx: CallContext, type: string): string {
  const key = ctx.meta[ENTITY_META];
  if (typeof key === "string" && key.length > 0 && key.length <= MAX_KEY_LENGTH) return key;
  throw new RpcError(
    "INVALID_ARGUMENT",
    key === undefined
      ? `${ctx.service}.${ctx.method}: ${type} is an entity type: address one entity, as entities(node, ${type}).for(key) does (metadata ${ENTITY_META})`
      : `${ctx.service}.${ctx.method}: the entity key (metadata ${ENTITY_META}) must be 1 to ${MAX_KEY_LENGTH} characters`,
    { unprocessed: true },
  );
}

function idempotencyKeyOf(ctx: CallContext): string | undefined {
  const key = ctx.meta[IDEMPOTENCY_META];
  return typeof key === "string" && key.length > 0 && key.length <= MAX_KEY_LENGTH ? key : undefined;
}

/** A call passed on that its owner refused unprocessed as unavailable (closing, or not reached), for a reason other than a lease held. */
function unreachable(error: unknown): boolean {
  return isRpcError(error) && error.unprocessed && error.code === "UNAVAILABLE" && !heldElsewhere(error);
}

/** A refusal because another node holds the key: the lease, or a newer owner's write. */
function heldElsewhere(error: unknown): boolean {
  if (!isRpcError(error) || !error.unprocessed || error.code !== "UNAVAILABLE") return false;
  const reason = (error.details as { reason?: unknown } | undefined)?.reason;
  return reason === "LEASE_HELD" || reason === "STALE_OWNER" || reason === "VERSION_CONFLICT";
}

/** Waits `ms`; false when the call was cancelled or timed out meanwhile. */
function pause(ms: number, ctx: CallContext): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms);
    ctx.onAbort(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
