/** Up to `k` distinct items of `items`, chosen at random. */
export function pick<T>(items: T[], k: number, random: () => number): T[] {
  const copy = [...items];
  const count = Math.min(k, copy.length);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, count);
}

/** `items` in random order. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  return pick(items, items.length, random);
}

/**
 * Visits distinct random positions of `0 … total - 1` until `visit` has
 * accepted `k` of them (it returns whether it did) or the positions run out:
 * a partial shuffle when there are few, bounded draws when there are many, so
 * that picking k of n costs O(k) with no copy of the positions.
 */
export function visitRandomPositions(total: number, k: number, random: () => number, visit: (position: number) => boolean): void {
  let accepted = 0;
  if (total <= 4 * k) {
    const order = Array.from({ length: total }, (_, n) => n);
    for (let n = 0; n < total && accepted < k; n++) {
      const j = n + Math.floor(random() * (total - n));
      [order[n], order[j]] = [order[j]!, order[n]!];
      if (visit(order[n]!)) accepted++;
    }
    return;
  }
  const seen = new Set<number>();
  for (let tries = 0; accepted < k && tries < 4 * k + 8; tries++) {
    const n = Math.floor(random() * total);
    if (seen.has(n)) continue;
    seen.add(n);
    if (visit(n)) accepted++;
  }
}
