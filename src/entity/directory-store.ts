/**
 * The embedded default state store: a local directory, for one machine.
 * Its records are kept in memory and in one append-only log on disk, flushed
 * before a write is acknowledged, many writes to a flush (record-log.ts);
 * every change is made under a lock per key inside the one process that owns
 * the directory.
 */
import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { holdDirectory, type DirectoryHold } from "./directory-lock.ts";
import { claimLost } from "./errors.ts";
import type { LogRecord, RecordLog } from "./record-log.ts";
import {
  checkDuration,
  checkFence,
  checkKey,
  checkLease,
  checkOwner,
  checkValue,
  closedError,
  storeLimits,
} from "./store-input.ts";
import { acquireLease, checkWrite, idempotencyLive, leaseOf, releaseLease, renewLease, type IdempotencyRecord, type LeaseRecord } from "./store-rules.ts";
import { DEFAULT_STORE_LIMITS, type EntityStore, type Fence, type IdempotencyClaim, type IdempotencyStore, type Lease, type StoredEntity, type StoreLimits } from "./store.ts";

/** Options of {@link openDirectoryStore}. */
export interface DirectoryStoreOptions {
  /** The directory; made when missing. One process at a time may use it. */
  dir: string;
  /** Size limits. */
  limits?: Partial<StoreLimits>;
}

type Section = "e" | "l" | "i";

/** An entity's record: its key, version, fencing token and data. */
interface EntityRecord {
  v: number;
  t: number;
  d: Uint8Array | null;
}

/** Opens (creating when missing) a directory store. Fails with UNUSABLE when another live process uses the directory. */
export async function openDirectoryStore(options: DirectoryStoreOptions): Promise<EntityStore> {
  const limits = storeLimits(options.limits, DEFAULT_STORE_LIMITS);
  await mkdir(options.dir, { recursive: true });
  return new DirectoryStore(await holdDirectory(options.dir), limits);
}

class DirectoryStore implements EntityStore {
  readonly kind = "directory";
  readonly limits: StoreLimits;
  readonly idempotency: IdempotencyStore;
  readonly #hold: DirectoryHold;
  readonly #log: RecordLog;
  /** Operations under way, and who waits for them to end (a close). */
  #running = 0;
  #idle: (() => void) | undefined;
  #closed = false;

  constructor(hold: DirectoryHold, limits: StoreLimits) {
    this.#hold = hold;
    this.#log = hold.log;
    this.limits = limits;
    this.idempotency = new DirectoryIdempotency(this);
  }

  async load(key: string): Promise<StoredEntity> {
    checkKey(key, this.limits);
    return this.op(async () => {
      const record = await this.#read("e", key);
      if (!record) return { data: undefined, version: 0, token: 0 };
      // A copy: the caller may change what it gets, and the record stays as written.
      return { data: record.d === null ? undefined : new Uint8Array(record.d), version: record.v, token: record.t };
    });
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

  #write(key: string, data: Uint8Array | undefined, fence: Fence): Promise<number> {
    // The hot path of every turn: the record's name is made once, and read and written straight.
    const name = `e/${key}`;
    return this.op(() =>
      this.#hold.locks.run(name, async () => {
        const current = this.#log.get(name) as EntityRecord | undefined;
        checkWrite(key, current?.v ?? 0, current?.t ?? 0, fence);
        const version = (current?.v ?? 0) + 1;
        await this.#log.put(name, { k: key, v: version, t: fence.token, d: data === undefined ? null : new Uint8Array(data) });
        return version;
      }),
    );
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkKey(name, this.limits, "lease name");
    checkOwner(owner);
    checkDuration(ttlMs, "ttlMs");
    const sentAt = Date.now();
    return this.locked("l", name, async () => {
      const record = acquireLease(name, await this.#readLease(name), owner, Date.now(), ttlMs);
      await this.write("l", name, { k: name, ...record });
      return leaseOf(name, record, sentAt, ttlMs);
    });
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease> {
    checkLease(lease, this.limits);
    checkDuration(ttlMs, "ttlMs");
    const sentAt = Date.now();
    return this.locked("l", lease.name, async () => {
      const record = renewLease(await this.#readLease(lease.name), lease, Date.now(), ttlMs);
      await this.write("l", lease.name, { k: lease.name, ...record });
      return leaseOf(lease.name, record, sentAt, ttlMs);
    });
  }

  async release(lease: Lease): Promise<void> {
    checkLease(lease, this.limits);
    return this.locked("l", lease.name, async () => {
      const record = releaseLease(await this.#readLease(lease.name), lease, Date.now());
      if (record) await this.write("l", lease.name, { k: lease.name, ...record });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#running > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    await this.#hold.release();
  }

  /** Runs `body` as one operation of this store (refused once closed; awaited by close). */
  op<T>(body: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError(this.kind));
    const running = body();
    this.#running++;
    running.then(this.#ended, this.#ended);
    return running;
  }

  readonly #ended = (): void => {
    if (--this.#running === 0) this.#idle?.();
  };

  /** Runs `body` under the lock of `key` in `section`. */
  locked<T>(section: Section, key: string, body: () => Promise<T>): Promise<T> {
    return this.op(() => this.#hold.locks.run(`${section}/${key}`, body));
  }

  /** The record of `key` in `section`. */
  async read(section: Section, key: string): Promise<LogRecord | undefined> {
    return this.#log.get(`${section}/${key}`);
  }

  async #read(section: "e", key: string): Promise<EntityRecord | undefined> {
    return (await this.read(section, key)) as EntityRecord | undefined;
  }

  async #readLease(name: string): Promise<LeaseRecord | undefined> {
    return (await this.read("l", name)) as LeaseRecord | undefined;
  }

  /** Writes the record of `key` in `section`; resolves once it is on disk. */
  write(section: Section, key: string, record: LogRecord): Promise<void> {
    return this.#log.put(`${section}/${key}`, record);
  }

  /** Removes the record of `key` in `section`, durably. */
  remove(section: Section, key: string): Promise<void> {
    return this.#log.put(`${section}/${key}`, undefined);
  }
}

class DirectoryIdempotency implements IdempotencyStore {
  readonly #store: DirectoryStore;

  constructor(store: DirectoryStore) {
    this.#store = store;
  }

  async begin(key: string, holdMs: number): Promise<IdempotencyClaim> {
    checkKey(key, this.#store.limits, "idempotency key");
    checkDuration(holdMs, "holdMs");
    return this.#store.locked("i", key, async () => {
      const now = Date.now();
      const record = (await this.#store.read("i", key)) as IdempotencyRecord | undefined;
      if (idempotencyLive(record, now)) {
        return record.done ? { status: "done", result: record.result ?? new Uint8Array(0) } : { status: "running" };
      }
      const claim = randomUUID();
      await this.#store.write("i", key, { k: key, claim, done: false, result: null, expiresAt: now + holdMs });
      return { status: "started", claim };
    });
  }

  async complete(key: string, claim: string, result: Uint8Array, retainMs: number): Promise<void> {
    checkKey(key, this.#store.limits, "idempotency key");
    checkValue(result, this.#store.limits, "result");
    checkDuration(retainMs, "retainMs");
    return this.#store.locked("i", key, async () => {
      const record = (await this.#store.read("i", key)) as IdempotencyRecord | undefined;
      // A claim whose hold ended is lost even before another call takes the key, as on every store.
      if (!idempotencyLive(record, Date.now()) || record.claim !== claim || record.done) throw claimLost(key);
      await this.#store.write("i", key, { k: key, claim, done: true, result, expiresAt: Date.now() + retainMs });
    });
  }

  async abandon(key: string, claim: string): Promise<void> {
    checkKey(key, this.#store.limits, "idempotency key");
    return this.#store.locked("i", key, async () => {
      const record = (await this.#store.read("i", key)) as IdempotencyRecord | undefined;
      if (record !== undefined && record.claim === claim && !record.done) await this.#store.remove("i", key);
    });
  }
}
