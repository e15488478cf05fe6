/**
 * The state-store seam of entities: what every store (a local directory,
 * Redis, PostgreSQL, NATS JetStream KV) implements, and what the entity layer
 * above relies on. A store keeps, per key, opaque bytes with a version and the
 * fencing token of the owner that wrote them; ownership leases; and, apart,
 * idempotency records for plain services. Every store passes the one
 * conformance suite in test/entity/.
 */

/** What a store holds for one key. */
export interface StoredEntity {
  /** The saved bytes; undefined when the key was never saved or was deleted. */
  readonly data: Uint8Array | undefined;
  /**
   * The version: 0 when the key was never written, and a different, greater
   * number after every write (a delete included). Opaque otherwise: a store
   * may count by ones or use its own revision numbers.
   */
  readonly version: number;
  /** The fencing token of the write that made this version; 0 when never written. */
  readonly token: number;
}

/**
 * The conditions of a write: it applies only when the key is still at
 * `expectedVersion` (compare-and-set) and no write with a newer fencing token
 * than `token` has been made (fencing).
 */
export interface Fence {
  /** The version the writer read; 0 to create. */
  readonly expectedVersion: number;
  /** The writer's fencing token: its lease's token, a positive integer. */
  readonly token: number;
}

/** An ownership lease on a name (an entity key, or a shard). */
export interface Lease {
  /** What the lease is on. */
  readonly name: string;
  /** Who holds it. */
  readonly owner: string;
  /**
   * The fencing token: greater than that of every earlier holding of this
   * name, by any owner, so that writes made under an older holding can be
   * refused. Unchanged by renewals.
   */
  readonly token: number;
  /**
   * Until when (this process's `Date.now()`) the holder may assume it holds the
   * lease: the time the request was sent plus the TTL, so never later than the
   * store's own expiry whatever the clocks say.
   */
  readonly validUntil: number;
}

/** How large a store lets things be. */
export interface StoreLimits {
  /** Bytes of one saved value or idempotency result; default 1 MiB. */
  readonly maxValueBytes: number;
  /** UTF-8 bytes of a key or lease name; default 256. */
  readonly maxKeyBytes: number;
}

/** The limits a store applies unless told otherwise. */
export const DEFAULT_STORE_LIMITS: StoreLimits = Object.freeze({ maxValueBytes: 1024 * 1024, maxKeyBytes: 256 });

/** Ownership leases with a TTL, one holder at a time per name. */
export interface LeaseStore {
  /**
   * Takes the lease on `name` for `owner` for `ttlMs`. Fails with a
   * LeaseHeldError while another owner holds it unexpired. When `owner`
   * already holds it unexpired this extends it and keeps its token; any other
   * acquisition (a new owner, a takeover after expiry, after a release) gets a
   * new, greater token.
   */
  acquire(name: string, owner: string, ttlMs: number): Promise<Lease>;
  /**
   * Extends a lease held with `lease.token` for another `ttlMs`. Fails with a
   * StaleOwnerError once anyone else has taken the name since (the holder
   * must then stop writing). A lease that expired but that no one took is
   * renewed: no one else can have written under a newer token.
   */
  renew(lease: Lease, ttlMs: number): Promise<Lease>;
  /** Gives the lease up so another owner may take it at once; a no-op when it is no longer held with this token. */
  release(lease: Lease): Promise<void>;
}

/** What {@link IdempotencyStore.begin} found. */
export type IdempotencyClaim =
  /** No record: the caller now holds the claim and runs the call, then completes or abandons it. */
  | { readonly status: "started"; readonly claim: string }
  /** Another call with this key holds the claim and has not completed. */
  | { readonly status: "running" }
  /** A call with this key completed within the retention window: its result. */
  | { readonly status: "done"; readonly result: Uint8Array };

/**
 * Idempotency records for calls of plain services (an entity's records live
 * in its own state instead, so that they move with it): key → the completed
 * call's result, kept for a retention window.
 */
export interface IdempotencyStore {
  /**
   * Claims `key` for `holdMs` unless a record exists. A claim whose holder
   * neither completes nor abandons it (it crashed) blocks the key until the
   * hold ends, after which a new call may run: choose `holdMs` longer than a
   * call can take, or the at-most-once guarantee ends with the hold.
   */
  begin(key: string, holdMs: number): Promise<IdempotencyClaim>;
  /**
   * Records the result of the call that holds `claim`, kept for `retainMs`.
   * Fails with a StaleOwnerError when the claim was lost (its hold ended and
   * another call claimed the key).
   */
  complete(key: string, claim: string, result: Uint8Array, retainMs: number): Promise<void>;
  /** Drops a claim whose call did not run (refused as unprocessed), so that a retry may run it. */
  abandon(key: string, claim: string): Promise<void>;
}

/** A state store for entities: versioned, fenced values; leases; and a standalone idempotency store. */
export interface EntityStore extends LeaseStore {
  /** Which kind of store: "directory", "redis", "postgres", "nats-kv". */
  readonly kind: string;
  /** The store's limits. */
  readonly limits: StoreLimits;
  /** Idempotency records for plain services, kept by the same backend. */
  readonly idempotency: IdempotencyStore;
  /** What the store holds for `key` (version 0 and no data when nothing). */
  load(key: string): Promise<StoredEntity>;
  /**
   * Saves `data` for `key` under `fence` and resolves with the new version
   * once the store has made it durable (as durable as the store is set up to
   * be: see docs/entities.md). Fails with a StaleOwnerError when a newer token
   * has written, else a VersionConflictError when the key is not at
   * `fence.expectedVersion`; nothing is written then.
   */
  save(key: string, data: Uint8Array, fence: Fence): Promise<number>;
  /**
   * Deletes the key's data under `fence`, as `save` does. The store keeps the
   * version and token (a tombstone), so an old owner cannot bring the key back.
   */
  delete(key: string, fence: Fence): Promise<number>;
  /** Closes the store's connections or files; every later use fails with an UNUSABLE store error. */
  close(): Promise<void>;
}
