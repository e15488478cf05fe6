/**
 * The figures the dashboard, `amoeba top` and `amoeba ls --stats` show, each
 * computed here once, from what nodes answer `amoeba.stats`:
 *
 * - **errors** come from what the callee served, by outcome code (its
 *   metrics): a method whose handler fails every call shows 100 %, whatever
 *   the code. The callers' balancers count only the failures that tell of the
 *   instance's health (UNAVAILABLE, INTERNAL, …), so they cannot say it.
 * - **latency and outstanding calls** come from the callers' balancers.
 * - **in flight and shed** come from the instance's own node.
 */
import type { NodeStats } from "../balance/stats-contract.ts";
import type { Instance } from "../lookup/types.ts";
import type { ServedMethodStats } from "../metrics/node-metrics.ts";

/** What one method's counters moved between two answers of one node. */
export interface ServedDelta {
  /** Calls by outcome code, only codes that moved. */
  calls: Record<string, number>;
  /** Every call counted in `calls`. */
  total: number;
  /** Those that ended with a code other than `OK`. */
  failed: number;
  /** Latency bucket bounds (s) and counts (not cumulative) of those calls. */
  bounds: number[];
  buckets: number[];
  /** Seconds spent in those calls, together. */
  seconds: number;
}

/**
 * What a node served of a method between two answers (`then` undefined:
 * since it started); undefined when it served none of it. Counters only
 * grow, so the difference is what happened in between; a node that restarted
 * (counters lower than before) is read from zero.
 */
export function servedDelta(now: ServedMethodStats, then: ServedMethodStats | undefined): ServedDelta | undefined {
  const restarted = then !== undefined && Object.entries(then.calls).some(([code, count]) => (now.calls[code] ?? 0) < count);
  const base = restarted ? undefined : then;
  const calls: Record<string, number> = {};
  let total = 0;
  let failed = 0;
  for (const [code, count] of Object.entries(now.calls)) {
    const delta = count - (base?.calls[code] ?? 0);
    if (delta <= 0) continue;
    calls[code] = delta;
    total += delta;
    if (code !== "OK") failed += delta;
  }
  if (total === 0) return undefined;
  const sameBuckets = base !== undefined && base.bounds.length === now.bounds.length && base.bounds.every((bound, i) => bound === now.bounds[i]);
  return {
    calls,
    total,
    failed,
    bounds: now.bounds,
    buckets: now.buckets.map((count, i) => Math.max(0, count - (sameBuckets ? (base.buckets[i] ?? 0) : 0))),
    seconds: Math.max(0, now.seconds - (base?.seconds ?? 0)),
  };
}

/**
 * The calls a node served of `services` (every method) between two of its
 * answers (`then` undefined: since it started): how many, and how many failed.
 */
export function servedCalls(now: NodeStats | undefined, then: NodeStats | undefined, services: ReadonlySet<string>): { total: number; failed: number } {
  let total = 0;
  let failed = 0;
  for (const method of now?.methods ?? []) {
    if (!services.has(method.service)) continue;
    const before = then?.methods?.find((m) => m.service === method.service && m.method === method.method);
    const delta = servedDelta(method, before);
    if (delta === undefined) continue;
    total += delta.total;
    failed += delta.failed;
  }
  return { total, failed };
}

/** The share of calls that failed, 0..1, to four decimals; null when there were none. */
export function failedShare(counts: { total: number; failed: number }): number | null {
  return counts.total > 0 ? Math.round((counts.failed / counts.total) * 10_000) / 10_000 : null;
}

/** Whether the node answered per-method figures: it keeps metrics (`metrics: true`). */
export function keepsMetrics(stats: NodeStats | undefined): boolean {
  return stats?.methods !== undefined;
}

/** What the dashboard's instance rows and `amoeba ls --stats` show of one instance. */
export interface InstanceFigures {
  /** Calls it runs now, and calls it refused for concurrency (from the instance's own node). */
  inFlight: number | null;
  shed: number | null;
  /** Calls in flight to it from the nodes that call it, together. */
  outstanding: number;
  /** Peak-EWMA latency its callers see, weighted by their calls (ms); null when no node called it. */
  ewmaMs: number | null;
  /**
   * Share of the calls it served that failed, any code but OK, 0..1: over
   * the window asked for (since its node started when none). Null when its
   * node keeps no metrics or served no call of it in that time.
   */
  errorRate: number | null;
  /** Calls it served in that window (null: its node keeps no metrics). */
  served: number | null;
  /**
   * Share of the callers' recent calls (their outlier window) that failed
   * in a way that tells of the instance's health — the figure that ejects
   * it; null when no node called it.
   */
  healthFailureRate: number | null;
  /** How many of the nodes that call it have it ejected, of how many call it. */
  ejectedBy: number;
  callers: number;
}

/**
 * One instance's figures: its own node's serving counts (between `before`
 * and `stats`, or since it started when there is no `before`) and every
 * caller's view of it.
 */
export function figuresOf(instance: Instance, stats: ReadonlyMap<string, NodeStats>, before?: ReadonlyMap<string, NodeStats>): InstanceFigures {
  const node = stats.get(instance.node.id);
  const own = node?.server.services[`${instance.service}@${instance.version}`];
  let outstanding = 0;
  let calls = 0;
  let latencySum = 0;
  let failures = 0;
  let ejectedBy = 0;
  let callers = 0;
  for (const caller of stats.values()) {
    for (const service of caller.services) {
      if (service.service !== instance.service) continue;
      for (const seen of service.instances) {
        if (seen.nodeId !== instance.node.id || seen.calls === 0) continue;
        callers++;
        outstanding += seen.outstanding;
        calls += seen.calls;
        latencySum += seen.ewmaMs * seen.calls;
        failures += seen.errorRate * seen.calls;
        if (seen.state !== "healthy") ejectedBy++;
      }
    }
  }
  const served = keepsMetrics(node) ? servedCalls(node, before?.get(instance.node.id), new Set([instance.service])) : null;
  return {
    inFlight: own?.inFlight ?? null,
    shed: own?.shed ?? null,
    outstanding,
    ewmaMs: calls > 0 ? latencySum / calls : null,
    errorRate: served === null ? null : failedShare(served),
    served: served === null ? null : served.total,
    healthFailureRate: calls > 0 ? failures / calls : null,
    ejectedBy,
    callers,
  };
}

/** A share as people read it: `100.0 %`, `-` when unknown. */
export function formatShare(value: number | null | undefined): string {
  return value === null || value === undefined ? "-" : `${(value * 100).toFixed(1)} %`;
}
