import { isRpcError } from "../index.ts";

const YIELD_MS = 50;

/** How much load to put on: stop at `calls` calls or after `durationMs`, whichever comes first. */
export interface LoadLimits {
  readonly calls: number;
  readonly durationMs: number;
  /** Calls in flight at once. */
  readonly concurrency: number;
}

/** Where a load run stands, for its progress display. */
export interface LoadProgress {
  /** Calls that ended so far, failed ones included. */
  readonly done: number;
  readonly failed: number;
  readonly elapsedMs: number;
}

/** What a load run measured. */
export interface LoadResult {
  /** Calls that succeeded. */
  readonly ok: number;
  /** Calls that failed, by error code. */
  readonly errors: ReadonlyMap<string, number>;
  /** The latency of each call that succeeded, in ms, ascending. */
  readonly latencies: Float64Array;
  /** From the first call to the end of the last one (ms). */
  readonly elapsedMs: number;
  /** What ended the run. */
  readonly stoppedBy: "calls" | "duration" | "interrupt";
  /** Calls still in flight when the run was interrupted: cancelled, and counted nowhere else. */
  readonly cancelled: number;
}

/** A running load: its progress now, and a way to stop it early (Ctrl-C). */
export interface Load {
  progress(): LoadProgress;
  /** Stops starting calls and cancels those in flight; the result still comes. */
  interrupt(): void;
  readonly result: Promise<LoadResult>;
}

/**
 * Runs `call` over and over, `concurrency` at a time, until the limits say
 * stop. Each call gets a signal that fires when the run is interrupted, so
 * that its callee hears of it too.
 */
export function startLoad(call: (signal: AbortSignal) => Promise<unknown>, limits: LoadLimits): Load {
  const controller = new AbortController();
  const errors = new Map<string, number>();
  let latencies = new Float64Array(Math.min(limits.calls, 4_096));
  let started = 0;
  let ok = 0;
  let failed = 0;
  let cancelled = 0;
  let stoppedBy: LoadResult["stoppedBy"] | undefined;
  const begin = performance.now();
  const stop = (reason: LoadResult["stoppedBy"]): void => {
    stoppedBy ??= reason;
  };
  const timer = setTimeout(() => stop("duration"), limits.durationMs);

  const record = (ms: number): void => {
    if (ok === latencies.length) {
      const grown = new Float64Array(Math.min(limits.calls, latencies.length * 2));
      grown.set(latencies);
      latencies = grown;
    }
    latencies[ok++] = ms;
  };
  const worker = async (): Promise<void> => {
    let yielded = performance.now();
    while (stoppedBy === undefined && started < limits.calls) {
      // Calls that fail at once (no instance) never wait for I/O: let timers and signals run.
      if (performance.now() - yielded > YIELD_MS) {
        await new Promise(setImmediate);
        yielded = performance.now();
        continue;
      }
      started++;
      const callStart = performance.now();
      // A call that took a millisecond or more waited on I/O: timers and signals ran, no yield is owed.
      // (Yielding after every slow call left none in flight at times, so an interrupt cancelled none.)
      try {
        await call(controller.signal);
        const took = performance.now() - callStart;
        record(took);
        if (took >= 1) yielded = performance.now();
      } catch (error) {
        if (performance.now() - callStart >= 1) yielded = performance.now();
        if (stoppedBy === "interrupt") {
          cancelled++;
          continue;
        }
        const code = isRpcError(error) ? error.code : "UNKNOWN";
        errors.set(code, (errors.get(code) ?? 0) + 1);
        failed++;
      }
    }
    if (started >= limits.calls) stop("calls");
  };

  const result = Promise.all(Array.from({ length: Math.min(limits.concurrency, limits.calls) }, worker)).then((): LoadResult => {
    clearTimeout(timer);
    return {
      ok,
      errors,
      latencies: latencies.slice(0, ok).sort(),
      elapsedMs: performance.now() - begin,
      stoppedBy: stoppedBy ?? "calls",
      cancelled,
    };
  });
  return {
    progress: () => ({ done: ok + failed, failed, elapsedMs: performance.now() - begin }),
    interrupt() {
      stop("interrupt");
      controller.abort(new Error("the load run was interrupted"));
    },
    result,
  };
}
