/**
 * Typed errors of the entity state stores. Each is an {@link RpcError} (so a
 * handler that lets one escape answers its caller with a proper status code)
 * with a `storeCode` saying exactly what the store refused.
 */
import { RpcError, type RpcErrorOptions } from "../rpc/rpc-error.ts";
import type { StatusCode } from "../rpc/status.ts";

/** What a store refused or failed at. */
export type StoreErrorCode =
  /** The write expected another version: someone else wrote first. */
  | "VERSION_CONFLICT"
  /** The writer's fencing token (or lease) is older than one that already wrote or took the lease. */
  | "STALE_OWNER"
  /** Another owner holds the lease and it has not expired. */
  | "LEASE_HELD"
  /** A key, lease name, token or value the store does not take. */
  | "BAD_INPUT"
  /** A value over the store's size limit. */
  | "TOO_LARGE"
  /** What the store holds is not what it wrote (a torn or foreign file). */
  | "CORRUPT"
  /** The store cannot be used: its directory is another process's, its client library is missing, it is closed. */
  | "UNUSABLE"
  /** The store's server could not be reached or failed. */
  | "UNAVAILABLE";

const STATUS: Record<StoreErrorCode, StatusCode> = {
  VERSION_CONFLICT: "ABORTED",
  STALE_OWNER: "FAILED_PRECONDITION",
  LEASE_HELD: "FAILED_PRECONDITION",
  BAD_INPUT: "INVALID_ARGUMENT",
  TOO_LARGE: "RESOURCE_EXHAUSTED",
  CORRUPT: "DATA_LOSS",
  UNUSABLE: "FAILED_PRECONDITION",
  UNAVAILABLE: "UNAVAILABLE",
};

const STORE_BRAND = Symbol.for("amoeba.StoreError");

function storeCodeOf(value: unknown): StoreErrorCode | undefined {
  if (typeof value !== "object" || value === null || (value as Record<symbol, unknown>)[STORE_BRAND] !== true) return undefined;
  return (value as StoreError).storeCode;
}

/**
 * The base of every store error: an RpcError whose `code` follows from
 * `storeCode` (VERSION_CONFLICT → ABORTED, STALE_OWNER → FAILED_PRECONDITION, …).
 * `instanceof` works across two loaded copies of Amoeba.
 */
export class StoreError extends RpcError {
  /** What the store refused. */
  readonly storeCode: StoreErrorCode;

  constructor(storeCode: StoreErrorCode, message: string, options: RpcErrorOptions = {}) {
    super(STATUS[storeCode], message, options);
    this.storeCode = storeCode;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return storeCodeOf(value) !== undefined;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), storeCode: this.storeCode };
  }
}
Object.defineProperty(StoreError.prototype, STORE_BRAND, { value: true });

/** A compare-and-set on the version failed. `details`: `{ key, expected, actual }`. */
export class VersionConflictError extends StoreError {
  constructor(key: string, expected: number, actual: number) {
    super("VERSION_CONFLICT", `entity ${JSON.stringify(key)} is at version ${actual}, not ${expected}`, { details: { key, expected, actual } });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return storeCodeOf(value) === "VERSION_CONFLICT";
  }
}

/**
 * A write or lease renewal by an owner that is no longer the owner: a newer
 * fencing token has written or taken the lease. `details`: `{ name, token, current }`.
 */
export class StaleOwnerError extends StoreError {
  constructor(name: string, token: number, current: number, what = "entity", message?: string) {
    super("STALE_OWNER", message ?? `${what} ${JSON.stringify(name)}: token ${token} is stale (the current owner's is ${current})`, {
      details: { name, token, current },
    });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return storeCodeOf(value) === "STALE_OWNER";
  }
}

/** The StaleOwnerError of an idempotency claim that was lost: its hold ended and another call claimed the key. */
export function claimLost(key: string): StaleOwnerError {
  return new StaleOwnerError(key, 0, 0, "idempotency key", `the claim on idempotency key ${JSON.stringify(key)} was lost (its hold ended)`);
}

/** A lease is held by another owner. `details`: `{ name, owner, token }`. */
export class LeaseHeldError extends StoreError {
  constructor(name: string, owner: string, token: number) {
    super("LEASE_HELD", `lease ${JSON.stringify(name)} is held by ${JSON.stringify(owner)}`, { details: { name, owner, token } });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return storeCodeOf(value) === "LEASE_HELD";
  }
}

/** Input a store does not take: a bad key, token, TTL or value. `details`: `{ what }`. */
export class BadStoreInputError extends StoreError {
  constructor(what: string, message: string) {
    super("BAD_INPUT", message, { details: { what } });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return storeCodeOf(value) === "BAD_INPUT";
  }
}

/** Turns a client library's failure into a store error (UNAVAILABLE), keeping store errors as they are. */
export function storeFailure(store: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreError("UNAVAILABLE", `${store} store: ${message}`, { cause: error });
}
