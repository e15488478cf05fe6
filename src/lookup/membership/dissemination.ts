import { entrySize, type GossipEntry } from "./codec.ts";

interface Broadcast {
  key: string;
  entry: GossipEntry;
  size: number;
  transmits: number;
  /** The `take` call that last picked it: never twice in one packet. */
  round: number;
  onDone: (() => void) | undefined;
}

/** The smallest entry there is (a `left` with a one-character id); less room than this is no room. */
const SMALLEST_ENTRY = 5;
const MAX_MISSES = 16;
/**
 * How many broadcasts a queue holds at most (Serf's default queue depth). The
 * queue holds one broadcast per member at most, so only a storm in a cluster
 * larger than this fills it; the most sent go first, as they have reached most
 * members already, and anti-entropy brings what they carried to the rest.
 */
const MAX_QUEUED_BROADCASTS = 4096;

/**
 * Broadcasts waiting to be piggybacked on outgoing packets. Each is sent a
 * limited number of times (`retransmitMultiplier × ceil(log10(n + 1))`), which is
 * enough for an epidemic to reach every member with high probability. The least
 * sent go first (oldest first among equals), and a newer broadcast about a member
 * replaces the older, which could only be stale by then.
 *
 * Broadcasts sit in one insertion-ordered set per transmit count, so a packet is
 * filled in one pass without sorting the queue: after a join storm a node may
 * hold one broadcast per member, up to `limit`.
 */
export class BroadcastQueue {
  readonly #byKey = new Map<string, Broadcast>();
  readonly #levels: Array<Set<Broadcast>> = [];
  readonly #limit: number;
  #round = 0;

  /** `limit`: the most broadcasts held; past it, the most sent are dropped. */
  constructor(limit = MAX_QUEUED_BROADCASTS) {
    this.#limit = Math.max(1, limit);
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** Queues news about member `key`; `onDone` runs when it was sent enough times or was replaced. */
  push(key: string, entry: GossipEntry, onDone?: () => void): void {
    const old = this.#byKey.get(key);
    if (old) {
      this.#remove(old);
      old.onDone?.();
    }
    const item: Broadcast = { key, entry, size: entrySize(entry), transmits: 0, round: -1, onDone };
    this.#byKey.set(key, item);
    this.#level(0).add(item);
    if (this.#byKey.size > this.#limit) this.#dropMostSent();
  }

  /** Drops the news queued about member `key`, if any (it is no longer true here). */
  drop(key: string): void {
    const item = this.#byKey.get(key);
    if (!item) return;
    this.#remove(item);
    item.onDone?.();
  }

  /**
   * Takes the broadcasts that fit in `budget` bytes, least sent first, and counts
   * one transmission for each; a broadcast sent `limit` times leaves the queue.
   */
  take(budget: number, limit: number): GossipEntry[] {
    const out: GossipEntry[] = [];
    const round = ++this.#round;
    const done: Broadcast[] = [];
    let left = budget;
    // A packet that is nearly full stops the search after a few misses rather
    // than scanning a long queue for the one entry that might still fit.
    let misses = 0;
    for (let level = 0; level < this.#levels.length && left >= SMALLEST_ENTRY && misses < MAX_MISSES; level++) {
      for (const item of this.#levels[level]!) {
        if (left < SMALLEST_ENTRY || misses >= MAX_MISSES) break;
        if (item.round === round) continue;
        if (item.size > left) {
          misses++;
          continue;
        }
        item.round = round;
        left -= item.size;
        out.push(item.entry);
        this.#levels[level]!.delete(item);
        item.transmits++;
        if (item.transmits >= limit) {
          this.#byKey.delete(item.key);
          done.push(item);
        } else {
          this.#level(item.transmits).add(item);
        }
      }
    }
    // Callbacks last: one may stop the node, which clears this queue.
    for (const item of done) item.onDone?.();
    return out;
  }

  /** Drops everything, running the callbacks. */
  clear(): void {
    const items = [...this.#byKey.values()];
    this.#byKey.clear();
    for (const level of this.#levels) level.clear();
    for (const item of items) item.onDone?.();
  }

  #dropMostSent(): void {
    for (let level = this.#levels.length - 1; level >= 0; level--) {
      const oldest = this.#levels[level]!.values().next();
      if (oldest.done) continue;
      this.#remove(oldest.value);
      oldest.value.onDone?.();
      return;
    }
  }

  #remove(item: Broadcast): void {
    this.#byKey.delete(item.key);
    this.#levels[item.transmits]?.delete(item);
  }

  #level(transmits: number): Set<Broadcast> {
    while (this.#levels.length <= transmits) this.#levels.push(new Set());
    return this.#levels[transmits]!;
  }
}
