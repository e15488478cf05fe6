/**
 * The latency of one instance as a balancer should see it: a moving average
 * that jumps up at once and comes down slowly ("peak EWMA", as in Finagle and
 * Linkerd). A slow answer is a warning worth acting on now; a fast one only
 * earns trust over time.
 */

/** Options of a {@link PeakEwma}. */
export interface PeakEwmaOptions {
  /** The time constant, in ms, over which lower latencies blend in and an idle estimate fades. Default 10 000. */
  decayMs?: number;
  /**
   * The estimate, in ms, before the first observation. Default 0: a new
   * instance is tried at once, one call at a time until it answers.
   */
  initialMs?: number;
}

// The cost of an instance with no latency known yet that already has calls out:
// high enough that it gets no second call before its first one answers.
const UNKNOWN_PENALTY = 30_000;

/** A peak-sensitive, exponentially weighted latency estimate, and the load cost derived from it. */
export class PeakEwma {
  readonly #decayMs: number;
  #ewma: number;
  // When #ewma was last updated; undefined until the first observation.
  #stamp: number | undefined;

  constructor(options: PeakEwmaOptions = {}) {
    this.#decayMs = options.decayMs ?? 10_000;
    this.#ewma = options.initialMs ?? 0;
    if (!(this.#decayMs > 0)) throw new RangeError(`decayMs must be positive, not ${this.#decayMs}`);
    if (!(this.#ewma >= 0) || !Number.isFinite(this.#ewma)) throw new RangeError(`initialMs must be a finite number >= 0, not ${this.#ewma}`);
  }

  /**
   * Counts one call's latency, measured when it ended at `now` (ms). A latency
   * above the current estimate ({@link latency}) replaces it; a lower one blends
   * into it with weight `1 - exp(-elapsed / decayMs)`, elapsed being the time
   * since the previous observation, so it never raises the estimate. Negative latencies count as 0; NaN and infinities are ignored.
   */
  observe(latencyMs: number, now: number): void {
    if (!Number.isFinite(latencyMs)) return;
    const latency = Math.max(0, latencyMs);
    if (this.#stamp === undefined) {
      this.#ewma = latency;
      this.#stamp = now;
      return;
    }
    const weight = decay(Math.max(0, now - this.#stamp) / this.#decayMs);
    const current = this.#ewma * weight;
    this.#ewma = latency > current ? latency : current * weight + latency * (1 - weight);
    this.#stamp = Math.max(now, this.#stamp);
  }

  /**
   * The latency estimate at `now`, in ms. It fades toward 0 while no calls end,
   * so an instance that was slow once and then avoided is tried again later
   * rather than shunned for good.
   */
  latency(now: number): number {
    if (this.#stamp === undefined) return this.#ewma;
    return this.#ewma * decay(Math.max(0, now - this.#stamp) / this.#decayMs);
  }

  /**
   * What sending one more call to this instance costs: the latency estimate
   * times (`outstanding` + 1), the calls already out included, so a busy
   * instance looks slower before its latency shows it. Lower is better.
   */
  cost(now: number, outstanding: number): number {
    const latency = this.latency(now);
    if (latency === 0 && outstanding > 0) return UNKNOWN_PENALTY + outstanding;
    return latency * (outstanding + 1);
  }
}

/**
 * `exp(-x)` for x ≥ 0. A busy instance's calls end microseconds apart (x near
 * 1e-6), where `1 − x` is exact to well under a millionth: no `Math.exp` on
 * every call.
 */
function decay(x: number): number {
  return x < 1e-4 ? 1 - x : Math.exp(-x);
}
