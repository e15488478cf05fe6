import type { NodeStats, ServedMethodStats } from "../index.ts";
import { failedShare, servedDelta } from "../dashboard/figures.ts";
import { bucketQuantile } from "../dashboard/percentiles.ts";

/** What every node answered at one moment (`amoeba.stats`), by node id. */
export interface Reading {
  /** When the answers were in (ms, `performance.now()`). */
  readonly at: number;
  readonly nodes: ReadonlyMap<string, NodeStats>;
}

/** One method of the cluster over one interval, summed over the nodes that served it. */
export interface MethodFigures {
  readonly service: string;
  readonly method: string;
  readonly callsPerSecond: number;
  /** Share of the interval's calls that failed, 0..1. */
  readonly errorRate: number;
  /** The interval's failed calls by error code. */
  readonly errors: Record<string, number>;
  /** Estimated from the latency buckets (ms); null when the histogram says nothing. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Calls of the method in flight on average: the time spent in its calls over the length of the interval. */
  readonly inFlight: number;
  /** Nodes that served it in the interval. */
  readonly nodes: number;
}

/** What `amoeba top` shows of one interval. */
export interface TopFrame {
  /** The interval's length, in seconds. */
  readonly seconds: number;
  /** Nodes that answered. */
  readonly nodes: number;
  /** Nodes that answered without per-method figures: they keep no metrics. */
  readonly withoutMetrics: string[];
  /** Calls of the cluster's services running now, on every node together. */
  readonly inFlightNow: number;
  /** The methods called in the interval, busiest first. */
  readonly methods: MethodFigures[];
}

/**
 * Whether a node's answer has the shape top reads; a node of another
 * version, or a broken one, is left out rather than failing the view.
 */
export function isReadable(stats: unknown): stats is NodeStats {
  const candidate = stats as Partial<NodeStats> | null;
  if (typeof candidate !== "object" || candidate === null || typeof candidate.node !== "string") return false;
  const services = candidate.server?.services;
  if (typeof services !== "object" || services === null || !Object.values(services).every((s) => typeof s?.service === "string" && typeof s.inFlight === "number")) return false;
  return candidate.methods === undefined || (Array.isArray(candidate.methods) && candidate.methods.every(isMethodStats));
}

function isMethodStats(m: ServedMethodStats): boolean {
  const numbers = (values: unknown): boolean => Array.isArray(values) && values.every((v) => typeof v === "number");
  return (
    typeof m === "object" &&
    m !== null &&
    typeof m.service === "string" &&
    typeof m.method === "string" &&
    typeof m.calls === "object" &&
    m.calls !== null &&
    Object.values(m.calls).every((v) => typeof v === "number") &&
    numbers(m.bounds) &&
    numbers(m.buckets) &&
    m.buckets.length === m.bounds.length + 1 &&
    typeof m.seconds === "number"
  );
}

interface Sum {
  calls: Record<string, number>;
  buckets: number[];
  bounds: number[];
  seconds: number;
  nodes: number;
}

/**
 * The figures of the interval between two readings. Counters only grow, so
 * what a node served in the interval is the difference of its two answers; a
 * node absent from the first reading has no baseline and waits for the next.
 * Amoeba's own services (amoeba.*) are left out: top's own questions are among them.
 */
export function compareReadings(before: Reading, after: Reading): TopFrame {
  const seconds = Math.max(after.at - before.at, 1) / 1_000;
  const sums = new Map<string, Sum & { service: string; method: string }>();
  const withoutMetrics: string[] = [];
  let inFlightNow = 0;
  for (const [id, stats] of after.nodes) {
    for (const counts of Object.values(stats.server.services)) if (!counts.service.startsWith("amoeba.")) inFlightNow += counts.inFlight;
    if (stats.methods === undefined) {
      withoutMetrics.push(stats.node);
      continue;
    }
    const earlier = before.nodes.get(id);
    if (earlier === undefined) continue;
    for (const now of stats.methods) {
      if (now.service.startsWith("amoeba.")) continue;
      const then = earlier.methods?.find((m) => m.service === now.service && m.method === now.method);
      const delta = difference(now, then);
      if (delta === undefined) continue;
      const key = `${now.service}\u0000${now.method}`;
      const sum = sums.get(key);
      if (sum === undefined) sums.set(key, { service: now.service, method: now.method, ...delta, nodes: 1 });
      else add(sum, delta);
    }
  }
  const methods = [...sums.values()].map((sum) => figuresOf(sum, seconds));
  methods.sort((a, b) => b.callsPerSecond - a.callsPerSecond || a.service.localeCompare(b.service) || a.method.localeCompare(b.method));
  return { seconds: round(seconds, 3), nodes: after.nodes.size, withoutMetrics: withoutMetrics.sort(), inFlightNow, methods };
}

/** What one node served of a method between two answers, in the shape top sums; undefined when it served none of it. */
function difference(now: ServedMethodStats, then: ServedMethodStats | undefined): Omit<Sum, "nodes"> | undefined {
  const delta = servedDelta(now, then);
  return delta === undefined ? undefined : { calls: delta.calls, bounds: delta.bounds, buckets: delta.buckets, seconds: delta.seconds };
}

function add(sum: Sum, delta: Omit<Sum, "nodes">): void {
  for (const [code, count] of Object.entries(delta.calls)) sum.calls[code] = (sum.calls[code] ?? 0) + count;
  // Every node uses the same buckets; a node that does not is counted but left out of the percentiles.
  if (delta.bounds.length === sum.bounds.length && delta.bounds.every((bound, i) => bound === sum.bounds[i])) {
    for (let i = 0; i < delta.buckets.length; i++) sum.buckets[i] = (sum.buckets[i] ?? 0) + delta.buckets[i]!;
  }
  sum.seconds += delta.seconds;
  sum.nodes++;
}

function figuresOf(sum: Sum & { service: string; method: string }, seconds: number): MethodFigures {
  let calls = 0;
  let failed = 0;
  const errors: Record<string, number> = {};
  for (const [code, count] of Object.entries(sum.calls)) {
    calls += count;
    if (code !== "OK") {
      errors[code] = count;
      failed += count;
    }
  }
  const quantile = (q: number): number | null => {
    const ms = bucketQuantile(sum.bounds, sum.buckets, q) * 1_000;
    return Number.isFinite(ms) ? round(ms, 3) : null;
  };
  return {
    service: sum.service,
    method: sum.method,
    callsPerSecond: round(calls / seconds, 1),
    errorRate: failedShare({ total: calls, failed }) ?? 0,
    errors,
    p50Ms: quantile(0.5),
    p99Ms: quantile(0.99),
    inFlight: round(Math.max(0, sum.seconds) / seconds, 2),
    nodes: sum.nodes,
  };
}

function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}
