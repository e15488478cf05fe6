/**
 * The NATS JetStream key-value state store (through `@nats-io/kv`, an
 * optional peer dependency, over the NATS engine's own client). Every change
 * is a compare-and-set on the key's revision (`create` / `update`), so a
 * read, a check of the rules (src/entity/store-rules.ts) and a write make one
 * atomic step or none. Versions are the bucket's revisions: they grow, but
 * not by ones. Lease and idempotency expiry use the clients' clocks: see
 * docs/entities.md for the skew this assumes and for the server's `sync`.
 */
import { randomUUID } from "node:crypto";
import { decodeBody, encodeBody } from "../wire/codec.ts";
import { claimLost, StoreError, storeFailure } from "./errors.ts";
import { importOptional } from "./optional-import.ts";
import { checkDuration, checkFence, checkKey, checkLease, checkOwner, checkValue, closedError, storeLimits } from "./store-input.ts";
import { acquireLease, checkWrite, idempotencyLive, leaseOf, releaseLease, renewLease, type IdempotencyRecord, type LeaseRecord } from "./store-rules.ts";
import { DEFAULT_STORE_LIMITS, type EntityStore, type Fence, type IdempotencyClaim, type IdempotencyStore, type Lease, type StoredEntity, type StoreLimits } from "./store.ts";

/** Options of {@link openNatsKvStore}. */
export interface NatsKvStoreOptions {
  /** The NATS servers, e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** The bucket; made when missing. Default `amoeba_entities`. */
  bucket?: string;
  /** Replicas of a bucket this store makes (a JetStream cluster); default 1. */
  replicas?: number;
  /** Size limits. */
  limits?: Partial<StoreLimits>;
}

interface Entry {
  value: Uint8Array;
  revision: number;
  operation: string;
}
interface Bucket {
  get(key: string): Promise<Entry | null>;
  create(key: string, value: Uint8Array): Promise<number>;
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
}
interface Connection {
  close(): Promise<void>;
}

// Bounded: a record changed under us this many times in a row means heavy contention; report it.
const MAX_ROUNDS = 50;

/** Connects to NATS and opens (making when missing) a key-value bucket as a store. */
export async function openNatsKvStore(options: NatsKvStoreOptions): Promise<EntityStore> {
  const limits = storeLimits(options.limits, DEFAULT_STORE_LIMITS);
  const bucketName = options.bucket ?? "amoeba_entities";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(bucketName)) throw new StoreError("BAD_INPUT", `bucket ${JSON.stringify(bucketName)} must be 1–64 letters, digits, _ or -`);
  const { Kvm } = await importOptional<{ Kvm: new (nc: unknown) => { create(name: string, options: object): Promise<Bucket> } }>("@nats-io/kv", "NATS KV");
  const { connect } = await import("@nats-io/transport-node");
  let nc: Connection | undefined;
  try {
    const connection = await connect({ servers: options.servers, timeout: 5_000 });
    nc = connection;
    const bucket = await new Kvm(connection).create(bucketName, { history: 1, replicas: options.replicas ?? 1 });
    return new NatsKvStore(connection, bucket, limits);
  } catch (error) {
    await nc?.close().catch(() => undefined);
    throw storeFailure("NATS KV", error);
  }
}

// KV keys take only [-/_=.A-Za-z0-9]: any key becomes base64url under a section.
const keyOf = (section: "e" | "l" | "i", key: string): string => `${section}.${Buffer.from(key, "utf8").toString("base64url")}`;

class NatsKvStore implements EntityStore {
  readonly kind = "nats-kv";
  readonly limits: StoreLimits;
  readonly idempotency: IdempotencyStore;
  readonly #nc: Connection;
  readonly #bucket: Bucket;
  #closed = false;

  constructor(nc: Connection, bucket: Bucket, limits: StoreLimits) {
    this.#nc = nc;
    this.#bucket = bucket;
    this.limits = limits;
    this.idempotency = new NatsKvIdempotency(this);
  }

  async load(key: string): Promise<StoredEntity> {
    checkKey(key, this.limits);
    const found = await this.read(keyOf("e", key));
    if (!found) return { data: undefined, version: 0, token: 0 };
    const record = found.record as { t: number; d: Uint8Array | null };
    return { data: record.d ?? undefined, version: found.revision, token: record.t };
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
    return this.change(keyOf("e", key), (record, revision) => {
      checkWrite(key, revision, (record as { t?: number } | undefined)?.t ?? 0, fence);
      return { t: fence.token, d: data ?? null };
    });
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkKey(name, this.limits, "lease name");
    checkOwner(owner);
    checkDuration(ttlMs, "ttlMs");
    const sentAt = Date.now();
    let taken!: LeaseRecord;
    await this.change(keyOf("l", name), (record) => (taken = acquireLease(name, record as LeaseRecord | undefined, owner, Date.now(), ttlMs)));
    return leaseOf(name, taken, sentAt, ttlMs);
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease> {
    checkLease(lease, this.limits);
    checkDuration(ttlMs, "ttlMs");
    const sentAt = Date.now();
    let renewed!: LeaseRecord;
    await this.change(keyOf("l", lease.name), (record) => (renewed = renewLease(record as LeaseRecord | undefined, lease, Date.now(), ttlMs)));
    return leaseOf(lease.name, renewed, sentAt, ttlMs);
  }

  async release(lease: Lease): Promise<void> {
    checkLease(lease, this.limits);
    await this.change(keyOf("l", lease.name), (record) => releaseLease(record as LeaseRecord | undefined, lease, Date.now()));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#nc.close().catch(() => undefined);
  }

  /** The record under `kvKey` and its revision, or undefined. */
  async read(kvKey: string): Promise<{ record: unknown; revision: number } | undefined> {
    if (this.#closed) throw closedError(this.kind);
    let entry: Entry | null;
    try {
      entry = await this.#bucket.get(kvKey);
    } catch (error) {
      throw storeFailure("NATS KV", error);
    }
    if (!entry || entry.operation !== "PUT") return undefined;
    try {
      return { record: decodeBody(entry.value, 8), revision: entry.revision };
    } catch (error) {
      throw new StoreError("CORRUPT", `the NATS KV entry ${kvKey} does not decode`, { cause: error });
    }
  }

  /**
   * Reads `kvKey`, lets `decide` return the record to write (or undefined for
   * none; it throws to refuse), and writes it only if the key is still at the
   * revision read, reading again when it is not. Resolves with the new revision.
   */
  async change(kvKey: string, decide: (record: unknown, revision: number) => object | undefined): Promise<number> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const current = await this.read(kvKey);
      const next = decide(current?.record, current?.revision ?? 0);
      if (next === undefined) return current?.revision ?? 0;
      const bytes = encodeBody(next);
      try {
        return current === undefined ? await this.#bucket.create(kvKey, bytes) : await this.#bucket.update(kvKey, bytes, current.revision);
      } catch (error) {
        if (this.#closed) throw closedError(this.kind);
        // Changed since it was read (or the server failed): read again, and let the rules decide anew.
        const now = await this.read(kvKey);
        if ((now?.revision ?? 0) === (current?.revision ?? 0)) throw storeFailure("NATS KV", error);
      }
    }
    throw new StoreError("UNAVAILABLE", `NATS KV: ${kvKey} kept changing under ${MAX_ROUNDS} attempts`);
  }
}

class NatsKvIdempotency implements IdempotencyStore {
  readonly #store: NatsKvStore;

  constructor(store: NatsKvStore) {
    this.#store = store;
  }

  async begin(key: string, holdMs: number): Promise<IdempotencyClaim> {
    checkKey(key, this.#store.limits, "idempotency key");
    checkDuration(holdMs, "holdMs");
    const claim = randomUUID();
    let found: IdempotencyClaim = { status: "started", claim };
    await this.#store.change(keyOf("i", key), (record) => {
      const now = Date.now();
      const existing = record as IdempotencyRecord | undefined;
      if (idempotencyLive(existing, now)) {
        found = existing.done ? { status: "done", result: existing.result ?? new Uint8Array(0) } : { status: "running" };
        return undefined;
      }
      found = { status: "started", claim };
      return { claim, done: false, result: null, expiresAt: now + holdMs };
    });
    return found;
  }

  async complete(key: string, claim: string, result: Uint8Array, retainMs: number): Promise<void> {
    checkKey(key, this.#store.limits, "idempotency key");
    checkValue(result, this.#store.limits, "result");
    checkDuration(retainMs, "retainMs");
    await this.#store.change(keyOf("i", key), (record) => {
      const existing = record as IdempotencyRecord | undefined;
      if (!idempotencyLive(existing, Date.now()) || existing.claim !== claim || existing.done) throw claimLost(key);
      return { claim, done: true, result, expiresAt: Date.now() + retainMs };
    });
  }

  async abandon(key: string, claim: string): Promise<void> {
    checkKey(key, this.#store.limits, "idempotency key");
    // Abandoned: the record expires at once (KV history 1 keeps only it).
    await this.#store.change(keyOf("i", key), (record) => {
      const existing = record as { claim: string; done: boolean } | undefined;
      if (existing === undefined || existing.claim !== claim || existing.done) return undefined;
      return { claim, done: false, result: null, expiresAt: 0 };
    });
  }
}
