/**
 * The checks every store makes on what it is given, so that all stores refuse
 * the same bad input with the same typed error before anything reaches a
 * file, a server or a map.
 */
import { BadStoreInputError, StoreError } from "./errors.ts";
import type { Fence, Lease, StoreLimits } from "./store.ts";

// Names that mean something to JavaScript objects: refused so that no store,
// and no code above one that indexes by key, can be led into a prototype.
// In a /u pattern a proper surrogate pair is one code point, so only a lone half matches.
const LONE_SURROGATE = /\p{Cs}/u;

const RESERVED = new Set(["__proto__", "constructor", "prototype"]);

/** Throws a BadStoreInputError unless `key` is a usable key or lease name. */
export function checkKey(key: unknown, limits: StoreLimits, what = "key"): asserts key is string {
  if (typeof key !== "string") throw new BadStoreInputError(what, `${what} must be a string, not ${typeof key}`);
  if (key.length === 0) throw new BadStoreInputError(what, `${what} must not be empty`);
  if (RESERVED.has(key)) throw new BadStoreInputError(what, `${what} ${JSON.stringify(key)} is reserved`);
  if (LONE_SURROGATE.test(key)) throw new BadStoreInputError(what, `${what} is not well-formed UTF-16 (a lone surrogate)`);
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new BadStoreInputError(what, `${what} must not hold control characters`);
  // A UTF-16 unit is at most 3 bytes of UTF-8 (a pair, 4 bytes for 2 units): only a long key needs counting.
  const bytes = key.length * 3 <= limits.maxKeyBytes ? 0 : Buffer.byteLength(key, "utf8");
  if (bytes > limits.maxKeyBytes) throw new BadStoreInputError(what, `${what} is ${bytes} bytes, over the limit of ${limits.maxKeyBytes}`);
}

/** Throws unless `token` is a fencing token: a positive safe integer. */
export function checkToken(token: unknown, what = "token"): asserts token is number {
  if (typeof token !== "number" || !Number.isSafeInteger(token) || token < 1) {
    throw new BadStoreInputError(what, `${what} must be a positive integer, not ${String(token)}`);
  }
}

/** Throws unless `fence` holds a version (a non-negative integer) and a token. */
export function checkFence(fence: unknown): asserts fence is Fence {
  if (typeof fence !== "object" || fence === null) throw new BadStoreInputError("fence", "a write needs a fence { expectedVersion, token }");
  const { expectedVersion, token } = fence as Partial<Fence>;
  if (typeof expectedVersion !== "number" || !Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new BadStoreInputError("expectedVersion", `expectedVersion must be a non-negative integer, not ${String(expectedVersion)}`);
  }
  checkToken(token);
}

/** Throws unless `ms` is a duration a store can keep: a positive integer of milliseconds up to a year. */
export function checkDuration(ms: unknown, what: string): asserts ms is number {
  if (typeof ms !== "number" || !Number.isSafeInteger(ms) || ms < 1 || ms > 366 * 24 * 3600 * 1000) {
    throw new BadStoreInputError(what, `${what} must be a positive integer of milliseconds (at most a year), not ${String(ms)}`);
  }
}

/** Throws unless `owner` names a lease holder: a non-empty string of at most 256 characters. */
export function checkOwner(owner: unknown): asserts owner is string {
  if (typeof owner !== "string" || owner.length === 0 || owner.length > 256 || LONE_SURROGATE.test(owner)) {
    throw new BadStoreInputError("owner", "a lease owner must be a non-empty string of at most 256 characters");
  }
}

/** Throws unless `data` is bytes within the limit. */
export function checkValue(data: unknown, limits: StoreLimits, what = "value"): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw new BadStoreInputError(what, `${what} must be a Uint8Array`);
  if (data.byteLength > limits.maxValueBytes) {
    throw new StoreError("TOO_LARGE", `${what} is ${data.byteLength} bytes, over the store's limit of ${limits.maxValueBytes}`, {
      details: { bytes: data.byteLength, limit: limits.maxValueBytes },
    });
  }
}

/** The limits of a store from its options, defaults filled in and checked. */
export function storeLimits(given: Partial<StoreLimits> | undefined, defaults: StoreLimits): StoreLimits {
  const limits = { ...defaults, ...given };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new BadStoreInputError(name, `store limit ${name} must be a positive integer`);
  }
  return Object.freeze(limits);
}

/** A store's "closed" error. */
export function closedError(kind: string): StoreError {
  return new StoreError("UNUSABLE", `the ${kind} store is closed`);
}

/** Throws unless `lease` looks like a lease a store handed out. */
export function checkLease(lease: unknown, limits: StoreLimits): asserts lease is Lease {
  if (typeof lease !== "object" || lease === null) throw new BadStoreInputError("lease", "a lease is needed");
  const { name, owner, token } = lease as Partial<Lease>;
  checkKey(name, limits, "lease name");
  checkOwner(owner);
  checkToken(token, "lease token");
}
