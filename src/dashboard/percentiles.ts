/**
 * Percentiles two ways: exactly, from every latency of a run (`amoeba bench`
 * keeps them all), and estimated, from the counts of a histogram's buckets
 * (`amoeba top` only has what nodes' metrics keep).
 */

/**
 * The nearest-rank percentile `q` (0..1) of ascending `sorted` values: p99 of
 * 100 values is the 99th smallest. NaN when there are none.
 */
export function nearestRank(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

/**
 * The percentile `q` (0..1) estimated from a histogram: `bounds` are the
 * buckets' upper bounds (ascending), `counts` the values in each bucket (not
 * cumulative), one more than `bounds` for the values past the last bound.
 * Within a bucket values are taken as spread evenly, as Prometheus's
 * histogram_quantile does; in the last, unbounded bucket the estimate is the
 * last bound. NaN when the histogram is empty.
 */
export function bucketQuantile(bounds: readonly number[], counts: readonly number[], q: number): number {
  let total = 0;
  for (const count of counts) total += count;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (count > 0 && below + count >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? Number.NaN;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + (bounds[i]! - lower) * Math.max(0, (rank - below) / count);
    }
    below += count;
  }
  return bounds[bounds.length - 1] ?? Number.NaN;
}
