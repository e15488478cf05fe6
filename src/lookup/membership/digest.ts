import type { MemberState } from "./types.ts";

/**
 * The digest of a view for anti-entropy: members are spread over a fixed number
 * of buckets by a hash of their id, and each bucket's hash combines, for each of
 * its members, the id, the incarnation and whether it is alive (alive and
 * suspect count the same), dead or left. Two views with equal bucket hashes hold
 * the same versions of the same members, so an exchange between them sends the
 * digest and nothing else; only buckets that differ carry records.
 *
 * Local data (timestamps) stays out, and so does suspicion: a suspicion is
 * transient and travels by gossip, and counting it would make every exchange
 * during one differ. The record itself is versioned by the incarnation (only a
 * member changes its record, and it raises its incarnation when it does).
 *
 * The bucket hashes are kept up to date by the member table as entries change
 * (XOR in, XOR out), so a digest costs nothing to compute.
 */

/** How many buckets a digest has: 64 hashes of 32 bits, at most ~330 bytes on the wire. */
export const DIGEST_BUCKETS = 64;

// Hashes are kept as signed 32-bit integers: V8 stores those inline in an object
// (a table entry holds two of them), unsigned ones above 2^31 as separate boxes.

/** FNV-1a over the UTF-16 code units of `text`, then mixed (murmur3's finaliser). */
export function idHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix(h);
}

/** The bucket of a member, from its id hash. */
export function bucketOf(hash: number): number {
  return (hash >>> 26) % DIGEST_BUCKETS;
}

/** The digest class of a state: suspect counts as alive. */
export function stateClass(state: MemberState): number {
  return state === "dead" ? 1 : state === "left" ? 2 : 0;
}

/** One member's share of its bucket's hash (a signed 32-bit integer). Never 0, so that a member always changes its bucket. */
export function entryHash(hash: number, incarnation: number, state: MemberState): number {
  const high = Math.floor(incarnation / 0x100000000);
  let h = mix(hash ^ Math.imul(incarnation >>> 0, 0x9e3779b1));
  h = mix(h ^ Math.imul(high + 1, 0x85ebca6b) ^ Math.imul(stateClass(state) + 1, 0xc2b2ae35));
  return h === 0 ? 1 : h;
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
