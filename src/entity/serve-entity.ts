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
import type { Contract } from "../rpc/contract.ts";
import { ENTITY_FORWARDED_META, ENTITY_META, IDEMPOTENCY_META, MAX_KEY_LENGTH } from "../rpc/keyed-meta.ts";
import { isRpcError, RpcError } from "../rpc/rpc-error.ts";
import { compatibleRange } from "../rpc/version.ts";
import { openDirectoryStore } from "./directory-store.ts";
import type { Entity, EntityTypeOptions, ServedEntityType } from "./entity-types.ts";
import { Ownership } from "./ownership.ts";
import type { EntityStore } from "./store.ts";
import { StoredEntities } from "./stored-entities.ts";

/** How often a node looks whether the owners of its active keys changed, in ms (it does so only when its view did). */
const REBALANCE_MS = 100;

type EntityHandler = (input: unknown, entity: Entity<unknown>, ctx: CallContext) => unknown;

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
  readonly #contract: Contract;
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
  #epoch = -1;
  #stopped: Promise<void> | undefined;

  constructor(node: Node, contract: Contract, options: EntityTypeOptions<Contract, unknown>, store: EntityStore, ownsStore: boolean, onlyKey: string | undefined) {
    const core = nodeInternals(node);
    this.#onlyKey = onlyKey;
    this.name = contract.name;
    this.#core = core;
    this.#contract = contract;
    this.#range = compatibleRange(contract.version);
    this.#store = store;
    this.#ownsStore = ownsStore;
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#entities = new StoredEntities<unknown>({
      store,
      owner: node.name,
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
    for (const method of Object.keys(contract.methods)) {
      const handler = (options.handlers as Record<string, EntityHandler>)[method]!;
      handlers[method] = (input, ctx) => this.#call(method, handler, readOnly.has(method), input, ctx);
    }
    this.#unserve = node.serve(contract, handlers as Handlers<Contract>, { concurrency: options.concurrency, interceptors: options.interceptors });
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
      this.#core.closing.delete(this.#closing);
      try {
        await this.#entities.close();
      } finally {
        if (this.#ownsStore) await this.#store.close();
      }
    })();
    return this.#stopped;
  }

  async #call(method: string, handler: EntityHandler, readOnly: boolean, input: unknown, ctx: CallContext): Promise<unknown> {
    const key = keyOf(ctx, this.name);
    if (this.#onlyKey !== undefined && key !== this.#onlyKey) {
      throw new RpcError("INVALID_ARGUMENT", `${this.name}.${method}: ${this.name} is a singleton: its one entity is ${JSON.stringify(this.#onlyKey)} (call it with singleton(node, ${this.name}))`, { unprocessed: true });
    }
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const owner = this.#ownership.ownerOf(key);
      if (owner !== undefined) return this.#forward(owner, key, method, input, ctx);
      if (this.#ownsStore && this.#ownership.others() > 0) throw this.#storeNotShared(key);
      if (ctx.deadline !== undefined && Date.now() >= ctx.deadline) {
        throw new RpcError("DEADLINE_EXCEEDED", `${this.name}.${method}: the deadline passed while the call waited for its turn on entity ${JSON.stringify(key)}; not processed`, { unprocessed: true });
      }
      try {
        return readOnly
          ? await this.#entities.read(key, (state) => handler(input, readView(key, state), ctx))
          : await this.#entities.write(
              key,
              async (state) => {
                const entity: Entity<unknown> = { key, state };
                const result = await handler(input, entity, ctx);
                return { state: entity.state, result };
              },
              idempotencyKeyOf(ctx),
            );
      } catch (error) {
        // Held by another node that has not let go yet (a hand-off under way, or a crashed owner's lease running out).
        if (!heldElsewhere(error)) throw error;
        const wait = Math.min(250, 25 * 2 ** attempt) * (0.5 + Math.random() / 2);
        const until = ctx.deadline ?? started + 2 * this.#leaseMs + 1_000;
        if (Date.now() + wait >= until || !(await pause(wait, ctx))) throw error;
      }
    }
  }

  /** Passes a call on to the key's owner, once: a call passed on already is refused instead. */
  #forward(owner: Target, key: string, method: string, input: unknown, ctx: CallContext): Promise<unknown> {
    const from = ctx.meta[ENTITY_FORWARDED_META];
    if (from !== undefined) {
      throw new RpcError(
        "UNAVAILABLE",
        `${this.name}.${method}: node ${from} passed this call for entity ${JSON.stringify(key)} to node ${this.#core.name}, which sees node ${owner.name} as its owner; not processed — retry once the views agree`,
        { unprocessed: true, details: { key, owner: owner.name } },
      );
    }
    const request: CallRequest = {
      service: this.name,
      method,
      kind: "unary",
      version: this.#range,
      input,
      deadline: ctx.deadline,
      signal: undefined,
      parent: ctx,
      meta: { ...ctx.meta, ...ctx.forwardMeta, [ENTITY_FORWARDED_META]: this.#core.name },
      onMeta: (meta) => Object.assign(ctx.responseMeta, meta),
      idempotent: this.#contract.methods[method]!.idempotent,
      serverMicros: undefined,
      attempts: undefined,
    };
    return this.#core.chain((onward) => owner.invoke(onward))(request) as Promise<unknown>;
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

/** The entity as a read-only turn sees it: assigning its state is a TypeError. */
function readView(key: string, state: unknown): Entity<unknown> {
  return Object.freeze({
    key,
    get state() {
      return state;
    },
  }) as Entity<unknown>;
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
