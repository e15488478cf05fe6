/** Per-client rate limits at the edge: one token bucket per client. */

/** How fast each client may call. */
export interface RateLimitOptions {
  /** Calls per second a client may make on average (tokens added per second). */
  perSecond: number;
  /** Calls a client may make at once after being idle (the bucket's size). Default: 2 × `perSecond`. */
  burst?: number;
  /**
   * Clients tracked at once; past it the longest-tracked are forgotten (they
   * start again with a full bucket). Bounds memory under many addresses. Default 100 000.
   */
  maxClients?: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms, monotonic). */
  at: number;
}

/**
 * Token buckets keyed by client (an authenticated caller's id, else its IP
 * address). A call costs one token, a JSON-RPC batch one per request in it.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxClients: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  constructor(options: RateLimitOptions, now: () => number = () => performance.now()) {
    if (!(options.perSecond > 0) || !Number.isFinite(options.perSecond)) throw new TypeError(`rateLimit.perSecond must be a positive number, got ${options.perSecond}`);
    const burst = options.burst ?? options.perSecond * 2;
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new TypeError(`rateLimit.burst must be at least 1, got ${burst}`);
    const maxClients = options.maxClients ?? 100_000;
    if (!Number.isInteger(maxClients) || maxClients < 1) throw new TypeError(`rateLimit.maxClients must be a positive integer, got ${maxClients}`);
    this.#rate = options.perSecond / 1000;
    this.#burst = burst;
    this.#maxClients = maxClients;
    this.#now = now;
  }

  /**
   * Takes `cost` tokens from `client`'s bucket. Returns 0 when allowed, else
   * how many ms until that many tokens are there (for Retry-After). A cost
   * above the bucket's size is never allowed; it waits as long as a full bucket takes.
   */
  take(client: string, cost = 1): number {
    const now = this.#now();
    let bucket = this.#buckets.get(client);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxClients) this.#evict(now);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(client, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#rate);
      bucket.at = now;
    }
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    const missing = Math.min(cost, this.#burst) - bucket.tokens;
    return Math.max(1, Math.ceil(missing / this.#rate));
  }

  /** Clients tracked now. */
  get size(): number {
    return this.#buckets.size;
  }

  // Buckets full again carry no state worth keeping; drop those first, then
  // the oldest, so the map never outgrows maxClients. Down to 90 % of it, so
  // that the scan is paid once per many new clients, not for each.
  #evict(now: number): void {
    for (const [client, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * this.#rate >= this.#burst) this.#buckets.delete(client);
    }
    const target = Math.floor(this.#maxClients * 0.9);
    if (this.#buckets.size <= target) return;
    const excess = this.#buckets.size - target;
    let removed = 0;
    for (const client of this.#buckets.keys()) {
      if (removed++ >= excess) break;
      this.#buckets.delete(client);
    }
  }
}
