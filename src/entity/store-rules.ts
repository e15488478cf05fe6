/**
 * The rules of fencing, leases and idempotency claims as pure functions, for
 * the stores that read a record and write it back conditionally (the
 * directory, NATS KV). Redis and PostgreSQL state the same rules in Lua and
 * SQL, and the conformance suite holds all of them to the same behaviour.
 */
import { LeaseHeldError, StaleOwnerError, VersionConflictError } from "./errors.ts";
import type { Fence, Lease } from "./store.ts";

/** Throws when a write under `fence` may not replace a record at `version` written with `token`. */
export function checkWrite(key: string, version: number, token: number, fence: Fence): void {
  // Fencing first: an old owner learns it is stale, not merely that it raced.
  if (fence.token < token) throw new StaleOwnerError(key, fence.token, token);
  if (fence.expectedVersion !== version) throw new VersionConflictError(key, fence.expectedVersion, version);
}

/** A lease as a store keeps it; `owner` is "" when released. `expiresAt` is in the store's clock. */
export interface LeaseRecord {
  readonly owner: string;
  readonly token: number;
  readonly expiresAt: number;
}

/** The record after `owner` acquires `name` at `now` for `ttlMs`, or a LeaseHeldError. */
export function acquireLease(name: string, current: LeaseRecord | undefined, owner: string, now: number, ttlMs: number): LeaseRecord {
  const live = current !== undefined && current.owner !== "" && current.expiresAt > now;
  if (live && current.owner !== owner) throw new LeaseHeldError(name, current.owner, current.token);
  // Held by the same owner: extend and keep the token; otherwise a new epoch.
  const token = live ? current.token : (current?.token ?? 0) + 1;
  return { owner, token, expiresAt: now + ttlMs };
}

/** The record after renewing `lease` at `now`, or a StaleOwnerError when someone took it since. */
export function renewLease(current: LeaseRecord | undefined, lease: Lease, now: number, ttlMs: number): LeaseRecord {
  if (current === undefined || current.token !== lease.token || current.owner !== lease.owner) {
    throw new StaleOwnerError(lease.name, lease.token, current?.token ?? 0, "lease");
  }
  return { owner: lease.owner, token: lease.token, expiresAt: now + ttlMs };
}

/** The record after releasing `lease`, or undefined when it is not held with that token (nothing to do). */
export function releaseLease(current: LeaseRecord | undefined, lease: Lease, now: number): LeaseRecord | undefined {
  if (current === undefined || current.token !== lease.token || current.owner !== lease.owner) return undefined;
  // The token stays, so that the next holder's is greater.
  return { owner: "", token: current.token, expiresAt: Math.min(current.expiresAt, now) };
}

/** The lease a holder gets: `validUntil` counts from when the request was sent. */
export function leaseOf(name: string, record: LeaseRecord, sentAt: number, ttlMs: number): Lease {
  return Object.freeze({ name, owner: record.owner, token: record.token, validUntil: sentAt + ttlMs });
}

/** An idempotency record as a store keeps it. */
export interface IdempotencyRecord {
  readonly claim: string;
  readonly done: boolean;
  readonly result: Uint8Array | null | undefined;
  readonly expiresAt: number;
}

/** Whether a record still counts at `now`. */
export function idempotencyLive(record: IdempotencyRecord | undefined, now: number): record is IdempotencyRecord {
  return record !== undefined && record.expiresAt > now;
}
