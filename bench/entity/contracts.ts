/** The services of the entity benchmark: the same small write, as a plain service and as an entity type. */
import { z } from "zod";
import { contract, unary } from "../../src/index.ts";

const Add = { input: z.object({ by: z.number() }), output: z.number() };

/** A plain counter: one number per node, no store. */
export const PlainCounter = contract("bench.plain-counter", "1.0.0", { add: unary(Add) });

/** The same as an entity type: a number per key, saved in the store after every call. */
export const EntityCounter = contract("bench.entity-counter", "1.0.0", { add: unary(Add) });

/** What the runner tells the caller. */
export interface EntityPlan {
  cluster: string;
  concurrency: number;
  keys: number;
  seconds: number;
  warmupMs: number;
  runs: number;
}

/** One measured load. */
export interface EntityLoad {
  callsPerSecond: number;
  p50: number;
  p99: number;
}

/** The hand-off when one of the two nodes closes under entity load. */
export interface HandOff {
  /** Keys the closing node held. */
  keys: number;
  /** Calls in flight when the close began, and how long each went on after it, ms. */
  caught: number;
  medianMs: number;
  maxMs: number;
  /** Calls that failed during the hand-off (the load retries none by hand). */
  failed: number;
}
