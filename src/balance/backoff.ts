/**
 * How long to wait before a retry: exponential backoff with full jitter. The
 * ceiling doubles with each attempt up to `maxMs`, and the delay is drawn
 * uniformly below it, so clients that failed together do not retry together.
 */

/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** The ceiling of the first retry's delay, in ms. Default 10. */
  baseMs?: number;
  /** The largest delay, in ms. Default 1 000. */
  maxMs?: number;
}

/**
 * The delay in ms before retry number `attempt` (1 for the first retry): a
 * uniform draw from [0, min(maxMs, baseMs × 2^(attempt − 1))). Attempts below
 * 1 (or NaN) count as 1; the result is always a finite number >= 0.
 *
 * @param random - uniform in [0, 1); inject a seeded one for repeatable runs.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const baseMs = options.baseMs ?? 10;
  const maxMs = options.maxMs ?? 1000;
  if (!(baseMs >= 0) || !Number.isFinite(baseMs)) throw new RangeError(`baseMs must be a finite number >= 0, not ${baseMs}`);
  if (!(maxMs >= 0) || !Number.isFinite(maxMs)) throw new RangeError(`maxMs must be a finite number >= 0, not ${maxMs}`);
  // Capped so that 2 ** exponent stays finite: 0 × Infinity would be NaN.
  const exponent = attempt >= 1 ? Math.min(Math.floor(attempt) - 1, 1000) : 0;
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
  const draw = random();
  // A random source that strays out of [0, 1) must not make the delay negative, NaN or above the ceiling.
  const unit = draw >= 0 ? Math.min(draw, 1) : 0;
  return unit * ceiling;
}
