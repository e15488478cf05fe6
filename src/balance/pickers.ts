/**
 * Ways to choose one instance among candidates. They allocate nothing, as
 * they run on every call; the candidates array is the caller's, already
 * filtered (e.g. by an `OutlierDetector`'s `allow`).
 */

/** A candidate that can say what one more call to it would cost; lower is better. */
export interface Pickable {
  readonly id: string;
  /** The cost at `now` (ms), e.g. a `PeakEwma` cost with the calls outstanding. */
  cost(now: number): number;
}

/**
 * The power of two choices: draws two distinct candidates at random and
 * returns the cheaper. It avoids the slow and the busy almost as well as
 * comparing all of them, at the cost of two lookups, and without the herd that
 * always picking the cheapest causes when many clients see the same costs.
 * A NaN cost loses. Undefined with no candidates; the only one with one.
 *
 * @param random - uniform in [0, 1).
 */
export function pickP2C<T extends Pickable>(candidates: readonly T[], random: () => number, now: number): T | undefined {
  const count = candidates.length;
  if (count < 2) return candidates[0];
  const first = index(random(), count);
  // A draw from the other count - 1, shifted past `first`: two distinct candidates without a retry loop.
  let second = index(random(), count - 1);
  if (second >= first) second++;
  const a = candidates[first]!;
  const b = candidates[second]!;
  const costA = a.cost(now);
  const costB = b.cost(now);
  return costB < costA || Number.isNaN(costA) ? b : a;
}

/** A uniformly random candidate; undefined with none. */
export function pickRandom<T>(candidates: readonly T[], random: () => number): T | undefined {
  if (candidates.length === 0) return undefined;
  return candidates[index(random(), candidates.length)];
}

/** Takes candidates in turn. One per client and service, so that turns are not shared. */
export class RoundRobin {
  #next: number;

  /**
   * @param start - the first index taken; give each client a random one so
   * that clients starting together do not all call the same instance first.
   */
  constructor(start = 0) {
    this.#next = Number.isInteger(start) && start > 0 ? start : 0;
  }

  /** The candidate after the one returned last time; undefined with none. */
  next<T>(candidates: readonly T[]): T | undefined {
    const count = candidates.length;
    if (count === 0) return undefined;
    // The list may have shrunk since the last call.
    if (this.#next >= count) this.#next = 0;
    const chosen = candidates[this.#next];
    this.#next++;
    return chosen;
  }
}

/** `unit` in [0, 1) scaled to an index below `count`, safe from a source that returns 1, NaN or a negative. */
function index(unit: number, count: number): number {
  const scaled = Math.floor(unit * count);
  return scaled >= 0 ? Math.min(scaled, count - 1) : 0;
}
