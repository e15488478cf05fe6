/** How a client chooses among the instances of a service. */
export type BalanceStrategy = "p2c" | "round-robin" | "random" | "hash" | "owner";

/**
 * How calls pick an instance and survive failures; set per client
 * (`node.client(C, { balance })`) or per method (`{ methods: { add: {…} } }`).
 */
export interface BalancePolicy {
  /**
   * `p2c` (default): the cheaper of two random instances, by peak-EWMA latency ×
   * (calls in flight + 1). `round-robin`, `random`, or `hash`: the same key always
   * reaches the same instance, and only about 1/N of keys move when one comes or goes.
   * `owner`: the instance that owns the call's entity key (its `amoeba-entity`
   * metadata) by rendezvous hashing over the instances of this cluster — the
   * same choice the entity's servers make; calls without a key are `p2c`'s.
   * On an engine that balances by itself (NATS queue groups), `round-robin` and
   * `random` leave the choice of instance for unary calls to it; see {@link choosesInstance}.
   */
  strategy?: BalanceStrategy;
  /** For `hash`: the key of a call, taken from its input (a user id, a shard key). */
  hashKey?: (input: unknown) => string;
  /**
   * Prefer the nearest instances: same process › same host › same cluster ›
   * through a gateway. A farther tier is used only when no nearer instance is
   * usable. Default true.
   */
  locality?: boolean;
  /**
   * Attempts after the first, each on another instance where one exists. A call
   * is retried only when that is safe: it never reached a handler (the error is
   * `unprocessed`), or the method is idempotent. Retries also draw on the node's
   * retry budget. Default 2; 0 turns retries off.
   */
  retries?: number;
  /** Backoff before retrying a call that may have run: full jitter, from `baseMs`, capped at `maxMs`. */
  backoff?: { baseMs?: number; maxMs?: number };
  /**
   * Hedging, for idempotent unary methods only: when no answer came within
   * `delayMs` (or the given latency percentile of recent calls, e.g. 0.95), a
   * second copy goes to another instance; the first answer wins and the other
   * copy is cancelled. Hedges draw on the retry budget.
   */
  hedge?: { delayMs?: number; percentile?: number };
  /**
   * Calls this node keeps in flight per instance of the service. An instance at
   * the limit is passed over; when all are, the call fails at once with
   * RESOURCE_EXHAUSTED (not processed).
   */
  maxPerInstance?: number;
}

// A client's balancing options belong to this layer; it adds them to the call layer's ClientOptions.
declare module "../rpc/context.ts" {
  interface ClientOptions {
    /** How calls pick an instance and survive failures: strategy, locality, retries, hedging. */
    balance?: BalancePolicy;
    /** The same, per method; each adds to `balance`. */
    methods?: Record<string, BalancePolicy>;
  }
}

/** A policy with every field filled in. */
export interface ResolvedPolicy {
  strategy: BalanceStrategy;
  hashKey: ((input: unknown) => string) | undefined;
  locality: boolean;
  retries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  hedgeDelayMs: number | undefined;
  hedgePercentile: number | undefined;
  maxPerInstance: number;
}

/**
 * Whether a strategy must choose the instance itself: `p2c` weighs each
 * instance's latency and calls in flight, `hash` keeps keys on their instance.
 * `round-robin` and `random` only spread calls, which an engine that balances
 * by itself (NATS queue groups) does as well: their unary calls go to it.
 */
export function choosesInstance(strategy: BalanceStrategy): boolean {
  return strategy !== "round-robin" && strategy !== "random";
}

const STRATEGIES: ReadonlySet<string> = new Set(["p2c", "round-robin", "random", "hash", "owner"]);

/** Fills in defaults; a bad value is a TypeError at the time the client is made, not at a call. */
export function resolvePolicy(policy: BalancePolicy | undefined, base?: ResolvedPolicy): ResolvedPolicy {
  const out: ResolvedPolicy = base
    ? { ...base }
    : {
        strategy: "p2c",
        hashKey: undefined,
        locality: true,
        retries: 2,
        backoffBaseMs: 10,
        backoffMaxMs: 1_000,
        hedgeDelayMs: undefined,
        hedgePercentile: undefined,
        maxPerInstance: Infinity,
      };
  if (!policy) return out;
  if (policy.strategy !== undefined) {
    if (!STRATEGIES.has(policy.strategy)) throw new TypeError(`balance.strategy must be one of ${[...STRATEGIES].join(", ")}; got ${String(policy.strategy)}`);
    out.strategy = policy.strategy;
  }
  if (policy.hashKey !== undefined) {
    if (typeof policy.hashKey !== "function") throw new TypeError("balance.hashKey must be a function of the call's input");
    out.hashKey = policy.hashKey;
  }
  if (out.strategy === "hash" && !out.hashKey) throw new TypeError('balance.strategy "hash" needs balance.hashKey: (input) => string');
  if (policy.locality !== undefined) out.locality = policy.locality !== false;
  if (policy.retries !== undefined) out.retries = count("balance.retries", policy.retries);
  if (policy.backoff?.baseMs !== undefined) out.backoffBaseMs = count("balance.backoff.baseMs", policy.backoff.baseMs);
  if (policy.backoff?.maxMs !== undefined) out.backoffMaxMs = count("balance.backoff.maxMs", policy.backoff.maxMs);
  if (policy.hedge !== undefined) {
    const { delayMs, percentile } = policy.hedge;
    if (delayMs === undefined && percentile === undefined) throw new TypeError("balance.hedge needs delayMs or percentile");
    out.hedgeDelayMs = delayMs === undefined ? undefined : count("balance.hedge.delayMs", delayMs);
    if (percentile !== undefined && !(percentile > 0 && percentile < 1)) throw new TypeError(`balance.hedge.percentile must be between 0 and 1, got ${String(percentile)}`);
    out.hedgePercentile = percentile;
  }
  if (policy.maxPerInstance !== undefined) {
    if (!(policy.maxPerInstance >= 1)) throw new TypeError(`balance.maxPerInstance must be ≥ 1, got ${String(policy.maxPerInstance)}`);
    out.maxPerInstance = policy.maxPerInstance;
  }
  return out;
}

function count(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a finite number ≥ 0, got ${String(value)}`);
  return Math.floor(value);
}
