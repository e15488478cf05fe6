/**
 * The latency of one instance as a balancer should see it: a moving average
 * that jumps up at once and comes down slowly ("peak EWMA", as in Finagle and
 * Linkerd). A slow answer is a warning worth acting on now; a fast one only
 * earns trust over time.
 *
 * Weighted by time alone (over 10 s), as Finagle does, an instance answering
 * thousands of calls a second keeps the highest of its recent latencies for
 * seconds — a peak replaces the estimate, and thousands of fast answers barely
 * move it — so on a busy machine the busiest instances look the slowest, and
 * a stall's late answers, which arrive just as it ends, keep an instance that
 * has recovered avoided for seconds. So the estimate keeps the instance's
 * usual latency apart from its latest peak:
 *
 * - the usual latency blends in every answer, each weighing `1 / decayCalls`,
 *   less when answers come closer together than the instance's latency
 *   (those a stall held up arrive together and are one piece of news): it
 *   covers about the last 16 answers, or 16 latencies' worth of time. Idle, it
 *   fades toward 0 over `decayMs`, so an instance slow every time stays
 *   avoided, yet is tried again in the end;
 * - a peak, an answer above the estimate, replaces it at once and fades back to
 *   the usual latency over its own length unless answers confirm it: a 20 ms
 *   stall of a 1 ms instance is forgiven within tens of milliseconds.
 */

/** Options of a {@link PeakEwma}. */
export interface PeakEwmaOptions {
  /** The time constant, in ms, over which an idle estimate fades toward 0; answers seconds apart blend in over it too. Default 10 000. */
  decayMs?: number;
  /**
   * The estimate, in ms, before the first observation. Default 0: a new
   * instance is tried at once, one call at a time until it answers.
   */
  initialMs?: number;
  /**
   * The answers the usual latency covers: each weighs `1 / decayCalls`, less
   * when it comes sooner after the previous one than the instance's latency. Default 16.
   */
  decayCalls?: number;
}

// The cost of an instance with no latency known yet that already has calls out:
// high enough that it gets no second call before its first one answers.
const UNKNOWN_PENALTY = 30_000;

/** A peak-sensitive, exponentially weighted latency estimate, and the load cost derived from it. */
export class PeakEwma {
  readonly #decayMs: number;
  readonly #decayCalls: number;
  /** The usual latency: every answer blended in, no jumps. */
  #usual: number;
  /** The estimate as of #stamp: the latest peak, blended down by later answers; never below #usual. */
  #peak: number;
  // When the last observation came; undefined until the first one.
  #stamp: number | undefined;

  constructor(options: PeakEwmaOptions = {}) {
    this.#decayMs = options.decayMs ?? 10_000;
    this.#decayCalls = options.decayCalls ?? 16;
    const initial = options.initialMs ?? 0;
    if (!(this.#decayMs > 0)) throw new RangeError(`decayMs must be positive, not ${this.#decayMs}`);
    if (!(this.#decayCalls >= 1) || !Number.isFinite(this.#decayCalls)) throw new RangeError(`decayCalls must be a finite number >= 1, not ${this.#decayCalls}`);
    if (!(initial >= 0) || !Number.isFinite(initial)) throw new RangeError(`initialMs must be a finite number >= 0, not ${initial}`);
    this.#usual = initial;
    this.#peak = initial;
  }

  /**
   * Counts one call's latency, measured when it ended at `now` (ms). A latency
   * above the current estimate ({@link latency}) replaces it; a lower one blends
   * into it with weight `max(1 - exp(-elapsed / decayMs), min(1, elapsed / shorter) / decayCalls)`,
   * elapsed being the time since the previous observation and shorter the
   * lower of this latency and the usual one, so it never raises the estimate. Every latency blends into the
   * usual latency with that weight. Negative latencies count as 0; NaN and
   * infinities are ignored.
   */
  observe(latencyMs: number, now: number): void {
    if (!Number.isFinite(latencyMs)) return;
    const latency = Math.max(0, latencyMs);
    const stamp = this.#stamp;
    if (stamp === undefined) {
      this.#usual = latency;
      this.#peak = latency;
      this.#stamp = now;
      return;
    }
    const elapsed = Math.max(0, now - stamp);
    const fade = decay(elapsed / this.#decayMs);
    const usual = this.#usual * fade;
    const current = this.#at(elapsed, fade);
    // An answer weighs 1 / decayCalls, less when it comes sooner after the previous one than its own latency
    // or the usual one (the answers a stall held up arrive together, and are one piece of news), and at least
    // what the time since the previous one is worth over decayMs. The shorter of the two latencies is the
    // measure, so that fast answers bring down a usual latency that started too high as quickly as any.
    const measure = latency < usual ? latency : usual;
    const spacing = measure > 0 && elapsed < measure ? elapsed / measure : 1;
    const weight = Math.max(1 - fade, spacing / this.#decayCalls);
    this.#usual = usual + (latency - usual) * weight;
    this.#peak = latency > current ? latency : current + (latency - current) * weight;
    this.#stamp = Math.max(now, stamp);
  }

  /**
   * The latency estimate at `now`, in ms. A peak no answer confirmed fades
   * back to the usual latency, and all of it fades toward 0 while no calls
   * end, so an instance that was slow once and then avoided is tried again
   * later rather than shunned for good.
   */
  latency(now: number): number {
    const stamp = this.#stamp;
    if (stamp === undefined) return this.#usual;
    const elapsed = Math.max(0, now - stamp);
    return this.#at(elapsed, decay(elapsed / this.#decayMs));
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

  /** The estimate `elapsed` ms after the last observation, `fade` being the usual latency's decay over that time. */
  #at(elapsed: number, fade: number): number {
    const usual = this.#usual;
    const excess = this.#peak - usual;
    if (!(excess > 0)) return usual * fade;
    // A peak fades back to the usual latency over its own length: a stall is over by the time its answers arrive.
    return (usual + excess * decay(elapsed / this.#peak)) * fade;
  }
}

/**
 * `exp(-x)` for x ≥ 0. A busy instance's calls end microseconds apart (x near
 * 1e-6 over `decayMs`), where `1 − x` is exact to well under a millionth, and
 * a peak fades over a millisecond or so between two calls (x below 0.1),
 * where three terms of the series are within a few millionths: no `Math.exp`
 * on every call.
 */
function decay(x: number): number {
  if (x < 1e-4) return 1 - x;
  return x < 0.1 ? 1 - x * (1 - x * (0.5 - x / 6)) : Math.exp(-x);
}
