/**
 * The Redis state store (through `ioredis`, an optional peer dependency).
 * Every rule runs as a Lua script (src/entity/redis-scripts.ts), atomic on
 * the server. Durability is the server's: an acknowledged write survives a
 * Redis crash only with `appendonly yes` and `appendfsync always` (see
 * docs/entities.md); `requireDurable` refuses a server set up otherwise.
 */
import { randomUUID } from "node:crypto";
import { claimLost, LeaseHeldError, StaleOwnerError, StoreError, storeFailure, VersionConflictError } from "./errors.ts";
import { importOptional } from "./optional-import.ts";
import * as lua from "./redis-scripts.ts";
import { checkDuration, checkFence, checkKey, checkLease, checkOwner, checkValue, closedError, storeLimits } from "./store-input.ts";
import { leaseOf } from "./store-rules.ts";
import { DEFAULT_STORE_LIMITS, type EntityStore, type Fence, type IdempotencyClaim, type IdempotencyStore, type Lease, type StoredEntity, type StoreLimits } from "./store.ts";

/** Options of {@link openRedisStore}. */
export interface RedisStoreOptions {
  /** The server; default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Put before every key this store uses; default `amoeba:`. */
  prefix?: string;
  /** Refuse a server whose acknowledged writes a crash could lose (no `appendonly yes` with `appendfsync always`). */
  requireDurable?: boolean;
  /** Size limits. */
  limits?: Partial<StoreLimits>;
}

// The part of an ioredis client this store uses, scripts included once defined.
interface Client {
  connect(): Promise<void>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: "error", listener: (error: Error) => void): unknown;
  hmgetBuffer(key: string, ...fields: string[]): Promise<(Buffer | null)[]>;
  config(op: "GET", name: string): Promise<unknown>;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}
type Script = (key: string, ...args: (string | number | Buffer)[]) => Promise<unknown>;
type Scripts = Record<"amoebaSave" | "amoebaAcquire" | "amoebaRenew" | "amoebaRelease" | "amoebaBegin" | "amoebaComplete" | "amoebaAbandon", Script> & {
  amoebaBeginBuffer: Script;
};

/** Connects to Redis and opens a store; fails with UNAVAILABLE when the server cannot be reached. */
export async function openRedisStore(options: RedisStoreOptions = {}): Promise<EntityStore> {
  const limits = storeLimits(options.limits, DEFAULT_STORE_LIMITS);
  const { Redis } = await importOptional<{ Redis: new (url: string, options: object) => Client }>("ioredis", "Redis");
  const client = new Redis(options.url ?? "redis://127.0.0.1:6379", {
    lazyConnect: true,
    // Fail a command after a few reconnects rather than queue it for ever.
    maxRetriesPerRequest: 2,
    retryStrategy: (times: number) => (times > 20 ? null : Math.min(times * 100, 1_000)),
  });
  // Errors reach the callers of commands; without a listener ioredis would also log each.
  client.on("error", () => undefined);
  try {
    await client.connect();
    if (options.requireDurable) await checkDurable(client);
  } catch (error) {
    client.disconnect();
    throw storeFailure("Redis", error);
  }
  const definitions = {
    amoebaSave: lua.SAVE,
    amoebaAcquire: lua.ACQUIRE,
    amoebaRenew: lua.RENEW,
    amoebaRelease: lua.RELEASE,
    amoebaBegin: lua.BEGIN,
    amoebaComplete: lua.COMPLETE,
    amoebaAbandon: lua.ABANDON,
  };
  for (const [name, script] of Object.entries(definitions)) client.defineCommand(name, { numberOfKeys: 1, lua: script });
  return new RedisStore(client, client as unknown as Scripts, options.prefix ?? "amoeba:", limits);
}

async function checkDurable(client: Client): Promise<void> {
  const value = async (name: string): Promise<string | undefined> => {
    const reply = (await client.config("GET", name)) as string[];
    return reply[1];
  };
  const appendonly = await value("appendonly");
  const fsync = await value("appendfsync");
  if (appendonly !== "yes" || fsync !== "always") {
    throw new StoreError("UNUSABLE", `the Redis server may lose acknowledged writes (appendonly ${appendonly}, appendfsync ${fsync}); set appendonly yes and appendfsync always`);
  }
}

class RedisStore implements EntityStore {
  readonly kind = "redis";
  readonly limits: StoreLimits;
  readonly idempotency: IdempotencyStore;
  readonly #client: Client;
  readonly #scripts: Scripts;
  readonly #prefix: string;
  #closed = false;

  constructor(client: Client, scripts: Scripts, prefix: string, limits: StoreLimits) {
    this.#client = client;
    this.#scripts = scripts;
    this.#prefix = prefix;
    this.limits = limits;
    this.idempotency = new RedisIdempotency(this, scripts, prefix);
  }

  async load(key: string): Promise<StoredEntity> {
    checkKey(key, this.limits);
    const [v, t, d] = await this.run(() => this.#client.hmgetBuffer(`${this.#prefix}e:${key}`, "v", "t", "d"));
    if (v === null || v === undefined) return { data: undefined, version: 0, token: 0 };
    return { data: d === null || d === undefined ? undefined : new Uint8Array(d), version: Number(v), token: Number(t) };
  }

  async save(key: string, data: Uint8Array, fence: Fence): Promise<number> {
    checkKey(key, this.limits);
    checkValue(data, this.limits);
    checkFence(fence);
    return this.#write(key, data, fence);
  }

  async delete(key: string, fence: Fence): Promise<number> {
    checkKey(key, this.limits);
    checkFence(fence);
    return this.#write(key, undefined, fence);
  }

  async #write(key: string, data: Uint8Array | undefined, fence: Fence): Promise<number> {
    const [status, version, token] = (await this.run(() =>
      this.#scripts.amoebaSave(`${this.#prefix}e:${key}`, fence.expectedVersion, fence.token, data ? asBuffer(data) : "", data ? "s" : "d"),
    )) as number[];
    if (status === 1) throw new StaleOwnerError(key, fence.token, token!);
    if (status === 2) throw new VersionConflictError(key, fence.expectedVersion, version!);
    return version!;
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkKey(name, this.limits, "lease name");
    checkOwner(owner);
    checkDuration(ttlMs, "ttlMs");
    const sentAt = Date.now();
    const reply = (await this.run(() => this.#scripts.amoebaAcquire(`${this.#prefix}l:${name}`, owner, ttlMs))) as [number, string | number, number?];
    if (reply[0] === 1) throw new LeaseHeldError(name, String(reply[1]), Number(reply[2]));
    return leaseOf(name, { owner, token: Number(reply[1]), expiresAt: 0 }, sentAt, ttlMs);
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease> {
    checkLease(lease, this.limits);
    checkDuration(ttlMs, "ttlMs");
    const sentAt = Date.now();
    const [status, token] = (await this.run(() => this.#scripts.amoebaRenew(`${this.#prefix}l:${lease.name}`, lease.owner, lease.token, ttlMs))) as number[];
    if (status === 1) throw new StaleOwnerError(lease.name, lease.token, token!, "lease");
    return leaseOf(lease.name, { owner: lease.owner, token: lease.token, expiresAt: 0 }, sentAt, ttlMs);
  }

  async release(lease: Lease): Promise<void> {
    checkLease(lease, this.limits);
    await this.run(() => this.#scripts.amoebaRelease(`${this.#prefix}l:${lease.name}`, lease.owner, lease.token));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.quit().catch(() => this.#client.disconnect());
  }

  /** Runs one command, refused once closed, its failures made store errors. */
  async run<T>(command: () => Promise<T>): Promise<T> {
    if (this.#closed) throw closedError(this.kind);
    try {
      return await command();
    } catch (error) {
      throw storeFailure("Redis", error);
    }
  }
}

class RedisIdempotency implements IdempotencyStore {
  readonly #store: RedisStore;
  readonly #scripts: Scripts;
  readonly #prefix: string;

  constructor(store: RedisStore, scripts: Scripts, prefix: string) {
    this.#store = store;
    this.#scripts = scripts;
    this.#prefix = prefix;
  }

  async begin(key: string, holdMs: number): Promise<IdempotencyClaim> {
    checkKey(key, this.#store.limits, "idempotency key");
    checkDuration(holdMs, "holdMs");
    const claim = randomUUID();
    const reply = (await this.#store.run(() => this.#scripts.amoebaBeginBuffer(`${this.#prefix}i:${key}`, claim, holdMs))) as [number, Buffer?];
    if (reply[0] === 2) return { status: "done", result: new Uint8Array(reply[1] ?? Buffer.alloc(0)) };
    if (reply[0] === 1) return { status: "running" };
    return { status: "started", claim };
  }

  async complete(key: string, claim: string, result: Uint8Array, retainMs: number): Promise<void> {
    checkKey(key, this.#store.limits, "idempotency key");
    checkValue(result, this.#store.limits, "result");
    checkDuration(retainMs, "retainMs");
    const status = await this.#store.run(() => this.#scripts.amoebaComplete(`${this.#prefix}i:${key}`, claim, asBuffer(result), retainMs));
    if (status !== 0) throw claimLost(key);
  }

  async abandon(key: string, claim: string): Promise<void> {
    checkKey(key, this.#store.limits, "idempotency key");
    await this.#store.run(() => this.#scripts.amoebaAbandon(`${this.#prefix}i:${key}`, claim));
  }
}

// ioredis sends a Buffer as bytes but turns any other Uint8Array into text.
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
