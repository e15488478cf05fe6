import { summarize } from "./stats.ts";
import type { LoadResult } from "./messages.ts";

/** How one scenario is driven. */
export interface LoadPlan {
  concurrency: number;
  calls: number;
  warmupCalls: number;
  warmupMs: number;
  maxMs: number;
}

/** One kind of call: make call number `i`, and tell whether its answer is right. */
export interface Workload {
  invoke(i: number): Promise<unknown>;
  check(i: number, answer: unknown): boolean;
}

/**
 * Warms up, then makes `plan.calls` calls from `plan.concurrency` workers that
 * each wait for their answer before the next call (a closed loop), timing
 * every call. Bounded in count and in time: workers stop at either limit.
 */
export async function runLoad(work: Workload, plan: LoadPlan, onMeasuring: () => void): Promise<LoadResult> {
  return measureLoad(plan, onMeasuring, (calls, maxMs, samples) => drive(work, plan.concurrency, calls, maxMs, samples));
}

/** Drives `calls` calls for at most `maxMs`, timing each into `samples` (when given). */
export type Driver = (calls: number, maxMs: number, samples: Float64Array | null) => Promise<{ done: number; errors: number }>;

/**
 * Warms up with `drive`, then measures `plan.calls` calls driven the same way:
 * their rate, latency percentiles and this process's CPU per call.
 */
export async function measureLoad(plan: Omit<LoadPlan, "concurrency">, onMeasuring: () => void, drive: Driver): Promise<LoadResult> {
  await drive(plan.warmupCalls, plan.warmupMs, null);
  onMeasuring();
  const samples = new Float64Array(plan.calls);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const { done, errors } = await drive(plan.calls, plan.maxMs, samples);
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const latency = summarize(samples, done);
  return {
    calls: done,
    errors,
    elapsedMs,
    callsPerSec: (done / elapsedMs) * 1000,
    p50Us: latency.p50,
    p99Us: latency.p99,
    meanUs: latency.mean,
    truncated: done < plan.calls,
    clientCpuUs: (cpu.user + cpu.system) / Math.max(1, done),
  };
}

async function drive(
  work: Workload,
  concurrency: number,
  calls: number,
  maxMs: number,
  samples: Float64Array | null,
): Promise<{ done: number; errors: number }> {
  const deadline = performance.now() + maxMs;
  let next = 0;
  let done = 0;
  let errors = 0;
  const worker = async (): Promise<void> => {
    while (next < calls && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      let ok: boolean;
      try {
        ok = work.check(i, await work.invoke(i));
      } catch {
        ok = false;
      }
      const t1 = performance.now();
      if (samples) samples[done] = (t1 - t0) * 1000;
      done++;
      if (!ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { done, errors };
}
