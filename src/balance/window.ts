/**
 * Sums over a sliding time window, kept in a ring of slices: a value added at
 * `t` counts until its slice falls out of the window, between
 * `windowMs - windowMs / slices` and `windowMs` later. A ring of a few numbers
 * needs no timers and no per-event memory, and two of them give an error rate
 * over the last window whose meaning is plain ("half of the last 10 s of
 * calls failed"), which an exponential decay does not give.
 */

/** Options of a {@link WindowedSum}. */
export interface WindowOptions {
  /** How long a value counts, in ms. Default 10 000. */
  windowMs?: number;
  /** Slices the window is kept in; more slices, a smoother edge. Default 10. */
  slices?: number;
}

/** A sum of the values added over the last `windowMs`. */
export class WindowedSum {
  readonly #slices: Float64Array;
  readonly #sliceMs: number;
  // The number (time / sliceMs) of the newest slice written; older ones follow it round the ring.
  #newest = -Infinity;

  constructor(options: WindowOptions = {}) {
    const windowMs = options.windowMs ?? 10_000;
    const slices = options.slices ?? 10;
    if (!(windowMs > 0) || !Number.isFinite(windowMs)) throw new RangeError(`windowMs must be a positive number, not ${windowMs}`);
    if (!Number.isInteger(slices) || slices < 1) throw new RangeError(`slices must be a positive integer, not ${slices}`);
    this.#slices = new Float64Array(slices);
    this.#sliceMs = windowMs / slices;
  }

  /** Adds `value` (which may be negative) at time `now` (ms). */
  add(value: number, now: number): void {
    const count = this.#slices.length;
    const slice = this.#advance(now);
    this.#slices[((slice % count) + count) % count]! += value;
  }

  /** The sum of what was added within the window ending at `now`. */
  sum(now: number): number {
    this.#advance(now);
    let total = 0;
    for (const value of this.#slices) total += value;
    return total;
  }

  /** Forgets everything added. */
  clear(): void {
    this.#slices.fill(0);
    this.#newest = -Infinity;
  }

  /** Zeroes the slices that left the window by `now`; returns the slice `now` falls in. */
  #advance(now: number): number {
    const slice = Math.floor(now / this.#sliceMs);
    // A clock that steps back counts into the newest slice rather than reopening an old one.
    if (slice <= this.#newest) return this.#newest;
    const count = this.#slices.length;
    if (slice - this.#newest >= count) this.#slices.fill(0);
    else for (let s = this.#newest + 1; s <= slice; s++) this.#slices[((s % count) + count) % count] = 0;
    this.#newest = slice;
    return slice;
  }
}

/** Options of a {@link WindowedRate}. */
export interface WindowedRateOptions extends WindowOptions {
  /** Below this many calls in the window the rate is reported as 0: too little to judge. Default 1. */
  minCalls?: number;
}

/** The share of failed calls over the last `windowMs`. */
export class WindowedRate {
  readonly #calls: WindowedSum;
  readonly #failures: WindowedSum;
  readonly #minCalls: number;

  constructor(options: WindowedRateOptions = {}) {
    this.#calls = new WindowedSum(options);
    this.#failures = new WindowedSum(options);
    this.#minCalls = Math.max(1, options.minCalls ?? 1);
  }

  /** Counts one call that succeeded (`ok`) or failed, at `now` (ms). */
  record(ok: boolean, now: number): void {
    this.#calls.add(1, now);
    if (!ok) this.#failures.add(1, now);
  }

  /** Calls counted in the window ending at `now`. */
  calls(now: number): number {
    return this.#calls.sum(now);
  }

  /** Failures / calls in the window ending at `now`, in [0, 1]; 0 below `minCalls` calls. */
  rate(now: number): number {
    const calls = this.#calls.sum(now);
    if (calls < this.#minCalls) return 0;
    return this.#failures.sum(now) / calls;
  }

  /** Forgets every call counted. */
  clear(): void {
    this.#calls.clear();
    this.#failures.clear();
  }
}
