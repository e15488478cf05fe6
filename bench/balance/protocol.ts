/**
 * What the balancing benchmarks' children report, over the same IPC channel
 * and `Child` as the rest of the bench. The orchestrator's `Child` is typed
 * for the comparison's messages; these travel through it unchanged (it only
 * looks at `type`, and fails on "error"), and {@link expectMessage} checks
 * the type on arrival.
 */
import type { Child } from "../lib/children.ts";
import type { LoadResult } from "../lib/messages.ts";

/** One strategy measured once against the four instances. */
export interface StrategySample {
  strategy: "p2c" | "round-robin" | "random";
  /** Which run (0-based) and the strategy's place in that run's order. */
  run: number;
  position: number;
  result: LoadResult;
  /** Measured calls answered by each instance, by instance name. */
  perInstance: Record<string, number>;
  /** Share of measured calls the slow instance answered. */
  slowShare: number;
  /** p99 latency, µs, of the measured calls the fast instances answered: what a strategy that never chose the slow one could reach. */
  fastOnlyP99Us: number;
  /** The balancer's peak-EWMA latency estimate of each instance at the end (`node.stats()`), ms, by instance name. */
  estimatesMs: Record<string, number>;
  /** The caller's event-loop delay while measuring, ms: its p99 and its largest (stalls every call in flight sees). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** Consistent hashing over one set of instance ids (pure HashRing). */
export interface RingTrial {
  instances: number;
  keys: number;
  /** Largest instance's keys ÷ the mean. */
  imbalance: number;
  /** Smallest instance's keys ÷ the mean. */
  minShare: number;
  /** Share of keys that moved when one instance left: the mean and the largest over every instance leaving in turn. */
  leaveMovedMean: number;
  leaveMovedMax: number;
  /** Keys that moved although their instance stayed (should be 0). */
  leaveStrayMoves: number;
  /** Share of keys that moved when an instance joined, and the ideal 1/(N+1). */
  joinMoved: number;
  /** Keys that moved to an instance other than the newcomer (should be 0). */
  joinStrayMoves: number;
}

/** The "hash" strategy end to end: `node.client()` over in-process connections to N nodes. */
export interface HashEndToEnd {
  instances: number;
  keys: number;
  /** Share of keys whose instance matches what a HashRing of the same node ids says. */
  agreesWithRing: number;
  imbalance: number;
  leaveMoved: number;
  leaveStrayMoves: number;
  joinMoved: number;
  joinStrayMoves: number;
  /** Calls that failed. */
  errors: number;
  elapsedMs: number;
}

/** What the hash child reports. */
export interface HashReport {
  trials: RingTrial[];
  /** Median ns per `HashRing.pick` over 10 instances. */
  pickNs: number;
  endToEnd: HashEndToEnd | null;
  endToEndError?: string;
}

/** Fixed connection against balanced client, one phase each. */
export interface FastPathPhase {
  variant: "fixed" | "balanced";
  round: number;
  result: LoadResult;
}

/** Every message a balancing child sends. */
export type BalanceMessage =
  | { type: "strategy"; sample: StrategySample }
  | { type: "strategies-done" }
  | { type: "hash"; report: HashReport }
  | { type: "fast-path"; phase: FastPathPhase }
  | { type: "fast-path-done" };

/** Child side: sends one message to the orchestrator. */
export function report(message: BalanceMessage): void {
  process.send?.(message);
}

/** Orchestrator side: the child's next message, which must be of `type`. */
export async function expectMessage<T extends BalanceMessage["type"]>(child: Child, type: T, timeoutMs: number): Promise<Extract<BalanceMessage, { type: T }>> {
  const message = (await child.next(timeoutMs)) as unknown as BalanceMessage;
  if (message.type !== type) throw new Error(`${child.label}: expected "${type}", got "${message.type}"`);
  return message as Extract<BalanceMessage, { type: T }>;
}
