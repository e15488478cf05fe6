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
