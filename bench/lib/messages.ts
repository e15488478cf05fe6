/** Messages between the orchestrator and its child processes (over the fork IPC channel). */
import type { LoadPlan } from "./load.ts";
import type { Scenario } from "./scenarios.ts";

/** One measured load: what a load client reports per scenario. Latencies in µs. */
export interface LoadResult {
  /** Calls completed in the measured phase. */
  calls: number;
  /** Calls that failed or returned a wrong value. */
  errors: number;
  elapsedMs: number;
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  /** True when the time cap stopped the run before its call count. */
  truncated: boolean;
  /** CPU time of the client process (all threads) per call, in µs. */
  clientCpuUs: number;
}

/** In-process call cost, µs per call, from `amoeba-inproc-overhead`. */
export interface OverheadResult {
  /** A plain `await handler(input)`: the floor any in-process call has. */
  directUs: number;
  validateOnUs: number;
  validateOffUs: number;
  /** Validation on and one client interceptor that only calls on. */
  interceptedUs: number;
}

/** One micro-benchmark figure. */
export interface MicroResult {
  name: string;
  nsPerOp: number;
}

/** What a child tells the orchestrator. */
export type ChildMessage =
  | { type: "ready"; address: string }
  | { type: "measuring"; scenario: string }
  | { type: "result"; scenario: string; result: LoadResult }
  | { type: "overhead"; result: OverheadResult }
  | { type: "micro"; results: MicroResult[] }
  | { type: "error"; message: string };

/** What the orchestrator tells a child: run one scenario (load clients), or stop. */
export type ParentMessage = { type: "run"; scenario: Scenario; plan: LoadPlan } | { type: "stop" };
