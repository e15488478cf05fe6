/**
 * Gossip dropped for its cluster key is what a misconfigured cluster looks
 * like from inside: nodes that each run alone. It is said out loud, once per
 * sender and then at most once a minute, so that a wrong key shows in the log.
 */
import type { MembershipLogger } from "./types.ts";

/** How often the same sender is reported again (ms). */
const REPEAT_EVERY = 60_000;

/** Why a datagram did not open: which side has a key, going by its first byte. */
export function sealFailure(datagram: Uint8Array, hasKey: boolean): string {
  const sealedWithKey = datagram[0] === 0x02;
  if (hasKey && !sealedWithKey) return "it carries no cluster key and this node has one";
  if (!hasKey && sealedWithKey) return "it is sealed with a cluster key and this node has none";
  if (hasKey) return "it is sealed with another cluster key";
  return "it is not an Amoeba gossip datagram";
}

/** A warner of dropped gossip, rate-limited per sender. */
export function createLoudDrops(log: MembershipLogger, now: () => number): (from: string, why: string) => void {
  const last = new Map<string, number>();
  return (from, why) => {
    const at = now();
    const before = last.get(from);
    if (before !== undefined && at - before < REPEAT_EVERY) return;
    // Bounded: a flood from many addresses forgets the oldest.
    if (last.size >= 1_000) last.delete(last.keys().next().value!);
    last.set(from, at);
    log.warn({ from }, `gossip from ${from} dropped: ${why} (a wrong or missing cluster key?)`);
  };
}
