import type { InstanceStats } from "../index.ts";
import type { LoadLimits, LoadProgress, LoadResult } from "./bench-load.ts";
import { formatDuration, formatMs } from "./duration.ts";
import { nearestRank } from "../dashboard/percentiles.ts";
import { formatTable } from "./table.ts";

/** What `amoeba bench` reports of a run; `--json` prints it as is. */
export interface BenchSummary {
  /** `service.method`. */
  readonly target: string;
  /** Calls that ended: `ok` plus the failed ones. */
  readonly calls: number;
  readonly ok: number;
  /** Failed calls by error code. */
  readonly errors: Record<string, number>;
  /** Calls in flight when the run was interrupted, cancelled and not counted in `calls`. */
  readonly cancelled: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly concurrency: number;
  readonly stoppedBy: LoadResult["stoppedBy"];
  /** Latencies of the calls that succeeded (ms, nearest rank); null when none did. */
  readonly latencyMs: { min: number; p50: number; p90: number; p99: number; max: number } | null;
  /**
   * Attempts per instance as the balancer placed them (retries count as
   * attempts), and those that failed through the instance's fault: the
   * balancer does not hold a caller's mistake, such as INVALID_ARGUMENT, against it.
   */
  readonly instances: Array<{ node: string; address: string; attempts: number; faults: number }>;
}

/** Puts a run's result and the balancer's per-instance counts together. */
export function summarize(target: string, limits: LoadLimits, result: LoadResult, instances: readonly InstanceStats[]): BenchSummary {
  const failed = [...result.errors.values()].reduce((sum, count) => sum + count, 0);
  const calls = result.ok + failed;
  const seconds = result.elapsedMs / 1_000;
  const sorted = result.latencies;
  const round = (ms: number): number => Math.round(ms * 1_000) / 1_000;
  return {
    target,
    calls,
    ok: result.ok,
    errors: Object.fromEntries([...result.errors].sort(([a], [b]) => a.localeCompare(b))),
    cancelled: result.cancelled,
    seconds: round(seconds),
    callsPerSecond: seconds > 0 ? Math.round((calls / seconds) * 10) / 10 : 0,
    concurrency: limits.concurrency,
    stoppedBy: result.stoppedBy,
    latencyMs:
      sorted.length === 0
        ? null
        : {
            min: round(sorted[0]!),
            p50: round(nearestRank(sorted, 0.5)),
            p90: round(nearestRank(sorted, 0.9)),
            p99: round(nearestRank(sorted, 0.99)),
            max: round(sorted[sorted.length - 1]!),
          },
    instances: instances
      .filter((instance) => instance.calls > 0)
      .map((instance) => ({ node: instance.node, address: instance.address, attempts: instance.calls, faults: instance.failures }))
      .sort((a, b) => b.attempts - a.attempts || a.node.localeCompare(b.node)),
  };
}

/** The summary for people: totals, errors by code, latency percentiles, then one row per instance. */
export function formatSummary(summary: BenchSummary): string[] {
  const stopped = { calls: "", duration: ", stopped at the time limit", interrupt: ", interrupted" }[summary.stoppedBy];
  const lines = [
    `${summary.target}: ${summary.calls} calls in ${summary.seconds.toFixed(2)} s, ${summary.callsPerSecond.toFixed(1)} calls/s, concurrency ${summary.concurrency}${stopped}`,
  ];
  if (summary.cancelled > 0) lines.push(`  ${summary.cancelled} calls in flight were cancelled by the interrupt and are not counted`);
  lines.push("", ...formatTable(["OUTCOME", "CALLS"], [["OK", String(summary.ok)], ...Object.entries(summary.errors).map(([code, count]) => [code, String(count)])], "  "));
  const latency = summary.latencyMs;
  lines.push("", latency === null ? "  latency: no call succeeded" : `  latency of the calls that succeeded: ${LATENCY_KEYS.map((key) => `${key} ${formatMs(latency[key])}`).join("  ")}`);
  if (summary.instances.length > 0) {
    const rows = summary.instances.map((instance) => [instance.node, String(instance.attempts), String(instance.faults), instance.address]);
    lines.push("", ...formatTable(["NODE", "ATTEMPTS", "FAULTS", "ADDRESS"], rows, "  "));
  }
  return lines;
}

const LATENCY_KEYS = ["min", "p50", "p90", "p99", "max"] as const;

/**
 * One progress line: on a terminal a bar redrawn in place (`\r`), else a
 * plain line. The share done is the larger of calls done of `--calls` and
 * time spent of `--duration`: whichever limit ends the run.
 */
export function formatProgress(progress: LoadProgress, limits: LoadLimits, bar: { width: number } | undefined): string {
  const share = Math.min(1, Math.max(progress.done / limits.calls, progress.elapsedMs / limits.durationMs));
  const rate = progress.elapsedMs > 0 ? (progress.done / progress.elapsedMs) * 1_000 : 0;
  const figures = `${progress.done} calls, ${progress.failed} failed, ${rate.toFixed(0)} calls/s, ${formatDuration(Math.round(progress.elapsedMs / 100) * 100)}`;
  if (bar === undefined) return `bench: ${(share * 100).toFixed(0)}% ${figures}`;
  const filled = Math.round(share * bar.width);
  return `[${"#".repeat(filled)}${"-".repeat(bar.width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${figures}`;
}
