/** Latency and run statistics: percentiles of one run, medians across runs. */

/** Summary of one measured load. Latencies are in microseconds. */
export interface LatencySummary {
  p50: number;
  p99: number;
  mean: number;
}

/**
 * Percentiles of the first `count` latencies in `samples` (sorted in place).
 * Nearest-rank: p99 of 100 samples is the 99th smallest.
 */
export function summarize(samples: Float64Array, count: number): LatencySummary {
  if (count === 0) return { p50: Number.NaN, p99: Number.NaN, mean: Number.NaN };
  const sorted = samples.subarray(0, count).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i]!;
  return { p50: rank(sorted, 0.5), p99: rank(sorted, 0.99), mean: sum / count };
}

function rank(sorted: Float64Array, q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

/** The median of some numbers (NaN for none); the mean of the middle two for an even count. */
export function median(values: readonly number[]): number {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const middle = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[middle]! : (finite[middle - 1]! + finite[middle]!) / 2;
}

/** `a / b`, or NaN when either is missing or `b` is zero. */
export function ratio(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return a / b;
}
