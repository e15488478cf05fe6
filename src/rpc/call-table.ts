/**
 * The calls in flight on one connection, by call id: a Map's interface over
 * an open-addressed table whose arrays are replaced only when it grows.
 *
 * Why not a Map: calls come and go thousands of times a second while only a
 * few dozen are in flight, and a Map under that churn rebuilds its table
 * every few dozen calls, and V8 keeps a replaced table linked to its
 * successor; once one table has been moved to the old generation, the young
 * tables and calls it points at survive every scavenge with it, so the whole
 * stream of finished calls is promoted and collected by full collections
 * only. Here the arrays stay put, and a removed call's slot is
 * cleared at once.
 */
export class CallTable<T> {
  #ids: Float64Array;
  #values: Array<T | undefined>;
  #mask: number;
  #size = 0;

  constructor(capacity = 64) {
    const slots = 1 << Math.ceil(Math.log2(Math.max(8, capacity * 2)));
    this.#ids = new Float64Array(slots);
    this.#values = new Array<T | undefined>(slots).fill(undefined);
    this.#mask = slots - 1;
  }

  /** How many calls are held. */
  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    const ids = this.#ids;
    const values = this.#values;
    const mask = this.#mask;
    for (let slot = id & mask; ; slot = (slot + 1) & mask) {
      const value = values[slot];
      if (value === undefined) return undefined;
      if (ids[slot] === id) return value;
    }
  }

  /** Holds `value` under `id` (replacing what was there). */
  set(id: number, value: T): void {
    if ((this.#size + 1) * 2 > this.#values.length) this.#grow();
    const ids = this.#ids;
    const values = this.#values;
    const mask = this.#mask;
    let slot = id & mask;
    while (values[slot] !== undefined && ids[slot] !== id) slot = (slot + 1) & mask;
    if (values[slot] === undefined) this.#size++;
    ids[slot] = id;
    values[slot] = value;
  }

  /** Removes `id`; whether it was held. */
  delete(id: number): boolean {
    const ids = this.#ids;
    const values = this.#values;
    const mask = this.#mask;
    let slot = id & mask;
    for (; ; slot = (slot + 1) & mask) {
      if (values[slot] === undefined) return false;
      if (ids[slot] === id) break;
    }
    // Backward-shift deletion: later entries of the same probe run move up, so no tombstones are left.
    let hole = slot;
    for (let next = (hole + 1) & mask; values[next] !== undefined; next = (next + 1) & mask) {
      const home = ids[next]! & mask;
      // Move the entry at `next` into the hole unless its home lies cyclically in (hole, next].
      if (hole <= next ? home <= hole || home > next : home <= hole && home > next) {
        ids[hole] = ids[next]!;
        values[hole] = values[next];
        hole = next;
      }
    }
    values[hole] = undefined;
    this.#size--;
    return true;
  }

  /** The ids held, by rising id. */
  *keys(): IterableIterator<number> {
    for (const [id] of this.entries()) yield id;
  }

  /** The values held, by rising id. */
  *values(): IterableIterator<T> {
    for (const [, value] of this.entries()) yield value;
  }

  /**
   * The id and value pairs held, by rising id (the order calls were made in,
   * as a Map would give it, but for ids that wrapped around); taken as a
   * snapshot, so the table may change meanwhile.
   */
  *entries(): IterableIterator<[number, T]> {
    const taken: Array<[number, T]> = [];
    for (let slot = 0; slot < this.#values.length; slot++) {
      const value = this.#values[slot];
      if (value !== undefined) taken.push([this.#ids[slot]!, value]);
    }
    yield* taken.sort((a, b) => a[0] - b[0]);
  }

  [Symbol.iterator](): IterableIterator<[number, T]> {
    return this.entries();
  }

  #grow(): void {
    const ids = this.#ids;
    const values = this.#values;
    const slots = values.length * 2;
    this.#ids = new Float64Array(slots);
    this.#values = new Array<T | undefined>(slots).fill(undefined);
    this.#mask = slots - 1;
    this.#size = 0;
    for (let slot = 0; slot < values.length; slot++) {
      const value = values[slot];
      if (value !== undefined) this.set(ids[slot]!, value);
    }
  }
}
