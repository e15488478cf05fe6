import { hash32 } from "./hash.ts";

// A point is packed as hash × 2^21 + item index in one float64 (exact up to 2^53),
// so a single numeric sort orders the points; hence the cap on distinct items.
const INDEX_BITS = 21;
const INDEX_SPAN = 2 ** INDEX_BITS;
const MAX_ITEMS = INDEX_SPAN;

/**
 * Consistent hashing: each item owns `pointsPerItem` points on a ring of 32-bit
 * hashes, and a key goes to the owner of the first point at or after the key's
 * hash. When an item leaves, only the keys it owned move (to the owners of the
 * points that follow); when one joins, it takes about 1/(N+1) of the keys,
 * from all the others. Many points per item keep the shares even.
 *
 * The ring is immutable: build a new one when the instances change. It depends
 * only on the set of ids, not on their order, so every client that knows the
 * same instances sends a key to the same one.
 */
export class HashRing<T> {
  readonly #items: T[];
  readonly #hashes: Uint32Array;
  readonly #owners: Uint32Array;
  // Marks for pickSequence: an item is taken when its mark equals the current stamp.
  readonly #seen: Uint32Array;
  #stamp = 0;

  /**
   * @param items - the instances; of several with the same id, the first is kept.
   * @param idOf - an item's stable id; it places the item on the ring.
   * @param pointsPerItem - ring points per item; more, the more even the shares (default 160).
   */
  constructor(items: readonly T[], idOf: (item: T) => string, pointsPerItem = 160) {
    if (!Number.isInteger(pointsPerItem) || pointsPerItem < 1) {
      throw new RangeError(`pointsPerItem must be a positive integer, not ${pointsPerItem}`);
    }
    const entries = items.map((item) => ({ id: idOf(item), item }));
    // Sorted by id (a stable sort, so the first of duplicates stays first): the
    // item index then breaks hash ties the same way on every client.
    entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const unique = entries.filter((entry, i) => i === 0 || entry.id !== entries[i - 1]!.id);
    if (unique.length > MAX_ITEMS) throw new RangeError(`a ring holds at most ${MAX_ITEMS} items`);
    this.#items = unique.map((entry) => entry.item);

    const points = new Float64Array(unique.length * pointsPerItem);
    let p = 0;
    for (let index = 0; index < unique.length; index++) {
      const id = unique[index]!.id;
      for (let i = 0; i < pointsPerItem; i++) points[p++] = hash32(`${id}#${i}`) * INDEX_SPAN + index;
    }
    points.sort();
    this.#hashes = new Uint32Array(points.length);
    this.#owners = new Uint32Array(points.length);
    for (let i = 0; i < points.length; i++) {
      const hash = Math.floor(points[i]! / INDEX_SPAN);
      this.#hashes[i] = hash;
      this.#owners[i] = points[i]! - hash * INDEX_SPAN;
    }
    this.#seen = new Uint32Array(unique.length);
  }

  /** How many distinct items the ring holds. */
  get size(): number {
    return this.#items.length;
  }

  /** The item `key` maps to; undefined when the ring is empty. */
  pick(key: string): T | undefined {
    if (this.#items.length === 0) return undefined;
    return this.#items[this.#owners[this.#pointAt(hash32(key))]!];
  }

  /**
   * Up to `n` distinct items in ring order from `key`'s place: the first is
   * {@link pick}'s, the next the one a retry should go to, and so on. Each next
   * item is the one the key would move to if the ones before it left.
   */
  pickSequence(key: string, n: number): T[] {
    const result: T[] = [];
    const want = Math.min(Math.floor(n), this.#items.length);
    if (!(want >= 1)) return result;
    if (this.#stamp === 0xffffffff) {
      this.#seen.fill(0);
      this.#stamp = 0;
    }
    const stamp = ++this.#stamp;
    const owners = this.#owners;
    const seen = this.#seen;
    let point = this.#pointAt(hash32(key));
    for (let steps = 0; steps < owners.length && result.length < want; steps++) {
      const owner = owners[point]!;
      if (seen[owner] !== stamp) {
        seen[owner] = stamp;
        result.push(this.#items[owner]!);
      }
      point = point + 1 === owners.length ? 0 : point + 1;
    }
    return result;
  }

  /** The index of the first point at or after `hash`, wrapping round to 0. */
  #pointAt(hash: number): number {
    const hashes = this.#hashes;
    let low = 0;
    let high = hashes.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (hashes[mid]! < hash) low = mid + 1;
      else high = mid;
    }
    return low === hashes.length ? 0 : low;
  }
}
