import type { BenchConfig } from "../lib/config.ts";
import type { LoadPlan } from "../lib/load.ts";
import type { PacedPlan } from "./paced-load.ts";

/** How much the balancing benchmarks measure; every loop bounded in calls and in time. */
export interface BalancePlan {
  /** Strategies under a slow instance. */
  strategies: {
    /** Handler delay of the three fast instances and of the slow one, ms. */
    fastDelayMs: number;
    slowDelayMs: number;
    /** Runs; the order of the strategies rotates from one to the next. */
    runs: number;
    /** Per strategy and run: a fresh caller node, its warm-up, then the measured calls, all at the same fixed rate. */
    load: PacedPlan;
  };
  /** Consistent hashing. */
  hash: {
    instances: number;
    keys: number;
    /** Sets of instance ids tried (the shares depend on where the ids fall on the ring). */
    trials: number;
    /** Keys sent through `node.client()` with the "hash" strategy. */
    endToEndKeys: number;
  };
  /** Fixed connection against balanced client. */
  fastPath: {
    /** Rounds; each measures both variants, the first of the two alternating. */
    rounds: number;
    /** Per phase (warm-up only before the first round). */
    load: LoadPlan;
  };
}

/** The plan under a bench config: `--quick` cuts counts and runs; `--runs` sets the strategy runs. */
export function balancePlan(config: BenchConfig): BalancePlan {
  const quick = config.quick;
  return {
    strategies: {
      fastDelayMs: 1,
      slowDelayMs: 10,
      runs: config.runs,
      load: quick
        ? { ratePerSec: 3_000, calls: 3_000, warmupCalls: 600, warmupMs: 400, maxMs: 2_000, maxInFlight: 64 }
        : { ratePerSec: 3_000, calls: 10_000, warmupCalls: 1_500, warmupMs: 800, maxMs: 5_000, maxInFlight: 64 },
    },
    hash: quick
      ? { instances: 10, keys: 100_000, trials: 3, endToEndKeys: 5_000 }
      : { instances: 10, keys: 100_000, trials: 10, endToEndKeys: 20_000 },
    fastPath: {
      rounds: quick ? 3 : 9,
      load: quick
        ? { concurrency: 64, calls: 10_000, warmupCalls: 8_000, warmupMs: 1_000, maxMs: 1_000 }
        : { concurrency: 64, calls: 30_000, warmupCalls: 20_000, warmupMs: 2_500, maxMs: 2_000 },
    },
  };
}
