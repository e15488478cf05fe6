import { measureLoad, type Workload } from "../lib/load.ts";
import type { LoadResult } from "../lib/messages.ts";

/** An open loop: calls started at a fixed rate, whatever the answers do. */
export interface PacedPlan {
  /** Calls started per second. */
  ratePerSec: number;
  calls: number;
  warmupCalls: number;
  warmupMs: number;
  maxMs: number;
  /** Calls in flight at most: past it, starts wait (a bound on memory, not a pace). */
  maxInFlight: number;
}

// How often the pacer wakes up; the calls due meanwhile start together.
const TICK_MS = 1;
// The most calls the pacer catches up on at once, in ms of the rate: when this
// process stalls for longer, the schedule slides instead of bunching the calls
// it missed into a burst that says more of the stall than of a strategy.
const CATCH_UP_MS = 5;

/**
 * Warms up, then starts `plan.calls` calls at `plan.ratePerSec`, timing each
 * from its start to its answer. Every strategy measured this way does the same
 * work in the same time, so their latencies are compared at the same load on
 * the machine (a closed loop lets the faster one make more calls, and on a
 * machine with few cores pay for them in latency). Bounded in count and time:
 * the calls not started by `maxMs` are not made.
 */
export async function runPaced(work: Workload, plan: PacedPlan, onMeasuring: () => void): Promise<LoadResult> {
  return measureLoad(plan, onMeasuring, (calls, maxMs, samples) => pace(work, plan, calls, maxMs, samples));
}

function pace(work: Workload, plan: PacedPlan, calls: number, maxMs: number, samples: Float64Array | null): Promise<{ done: number; errors: number }> {
  // When call 0 was due; moves later when the process stalled.
  let schedule = performance.now();
  const deadline = schedule + maxMs;
  const catchUp = Math.max(1, Math.ceil((plan.ratePerSec * CATCH_UP_MS) / 1000));
  let next = 0;
  let inFlight = 0;
  let done = 0;
  let errors = 0;
  return new Promise((resolve) => {
    const finish = (): void => {
      if (inFlight === 0 && (next >= calls || performance.now() >= deadline)) resolve({ done, errors });
    };
    const one = (i: number): void => {
      inFlight++;
      const t0 = performance.now();
      const settle = (ok: boolean): void => {
        if (samples) samples[done] = (performance.now() - t0) * 1000;
        done++;
        if (!ok) errors++;
        inFlight--;
        finish();
      };
      let answer: Promise<unknown>;
      try {
        answer = work.invoke(i);
      } catch {
        settle(false);
        return;
      }
      answer.then(
        (value) => settle(work.check(i, value)),
        () => settle(false),
      );
    };
    const tick = (): void => {
      const now = performance.now();
      if (now >= deadline) {
        next = calls;
        finish();
        return;
      }
      let due = Math.floor(((now - schedule) / 1000) * plan.ratePerSec) + 1;
      const behind = due - next - catchUp;
      if (behind > 0) {
        schedule += (behind / plan.ratePerSec) * 1000;
        due -= behind;
      }
      due = Math.min(calls, due);
      while (next < due && inFlight < plan.maxInFlight) one(next++);
      if (next < calls) setTimeout(tick, TICK_MS);
      else finish();
    };
    tick();
  });
}
