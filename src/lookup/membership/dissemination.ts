import { entrySize, type GossipEntry } from "./codec.ts";

interface Broadcast {
  key: string;
  entry: GossipEntry;
  size: number;
  transmits: number;
  order: number;
  onDone: (() => void) | undefined;
}

/**
 * Broadcasts waiting to be piggybacked on outgoing packets. Each is sent a
 * limited number of times (`retransmitMultiplier × ceil(log10(n + 1))`), which is
 * enough for an epidemic to reach every member with high probability. Fresh
 * broadcasts go first, and a newer broadcast about a member replaces the older,
 * which could only be stale by then.
 */
export class BroadcastQueue {
  readonly #items = new Map<string, Broadcast>();
  #order = 0;

  get size(): number {
    return this.#items.size;
  }

  /** Queues news about member `key`; `onDone` runs when it was sent enough times or was replaced. */
  push(key: string, entry: GossipEntry, onDone?: () => void): void {
    const old = this.#items.get(key);
    if (old) {
      this.#items.delete(key);
      old.onDone?.();
    }
    this.#items.set(key, { key, entry, size: entrySize(entry), transmits: 0, order: this.#order++, onDone });
  }

  /**
   * Takes the broadcasts that fit in `budget` bytes, least sent first, and counts
   * one transmission for each; a broadcast sent `limit` times leaves the queue.
   */
  take(budget: number, limit: number): GossipEntry[] {
    if (this.#items.size === 0) return [];
    const queued = [...this.#items.values()].sort((a, b) => a.transmits - b.transmits || b.order - a.order);
    const out: GossipEntry[] = [];
    let left = budget;
    for (const item of queued) {
      if (item.size > left) continue;
      left -= item.size;
      out.push(item.entry);
      item.transmits++;
      if (item.transmits >= limit) {
        this.#items.delete(item.key);
        item.onDone?.();
      }
    }
    return out;
  }

  /** Drops everything, running the callbacks. */
  clear(): void {
    const items = [...this.#items.values()];
    this.#items.clear();
    for (const item of items) item.onDone?.();
  }
}
