const SIZE = 512;
const RECOMPUTE_EVERY = 64;

/**
 * The latencies of the last few hundred calls, for percentiles (when to hedge).
 * Percentiles are recomputed every few dozen calls, not at each one.
 */
export class LatencyWindow {
  readonly #samples = new Float64Array(SIZE);
  #count = 0;
  #next = 0;
  #sinceSort = RECOMPUTE_EVERY;
  #sorted: Float64Array = new Float64Array(0);

  /** Records one latency in ms. */
  observe(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % SIZE;
    if (this.#count < SIZE) this.#count++;
    this.#sinceSort++;
  }

  /** How many samples it holds (at most 512). */
  get size(): number {
    return this.#count;
  }

  /** The latency below which share `p` (0..1) of recent calls finished; undefined with fewer than 16 samples. */
  percentile(p: number): number | undefined {
    if (this.#count < 16) return undefined;
    if (this.#sinceSort >= RECOMPUTE_EVERY) {
      this.#sorted = this.#samples.slice(0, this.#count).sort();
      this.#sinceSort = 0;
    }
    const sorted = this.#sorted;
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  }
}
