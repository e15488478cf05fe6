/**
 * Traffic on each caller → callee link, from readings of the nodes' stats:
 * the callers' balancers count calls (cumulative) and see latency; callees
 * that keep metrics count what they served by outcome and in latency
 * buckets, which gives the link's errors (see figures.ts) and p99.
 */
import type { NodeStats } from "../balance/stats-contract.ts";
import { failedShare, keepsMetrics, servedCalls } from "./figures.ts";
import { bucketQuantile } from "./percentiles.ts";
import type { LinkView } from "./snapshot.ts";

/** One service a caller calls on one callee, in one reading. */
interface Flow {
  service: string;
  delta: number;
  calls: number;
  ewmaMs: number;
  outstanding: number;
  ejected: boolean;
}

/** Latency buckets: upper bounds (s) and counts (not cumulative). */
interface Buckets {
  bounds: readonly number[];
  counts: number[];
}

/** How far back error shares look (ms): long enough that a few calls a second give a steady figure. */
export const ERROR_WINDOW_MS = 10_000;

/** Remembers the last readings, so that each new one yields rates since then. */
export class TrafficMeter {
  /** Readings of the last {@link ERROR_WINDOW_MS}, oldest first. */
  #history: Array<{ at: number; stats: ReadonlyMap<string, NodeStats> }> = [];
  /** Calls so far by `caller>callee>service`. */
  #calls = new Map<string, number>();
  /** Served-latency bucket counts so far by `node>service>method`. */
  #served = new Map<string, number[]>();
  #at: number | undefined;

  /** The links seen in `stats` (by node id), with rates since the previous call; `now` in ms. */
  measure(stats: ReadonlyMap<string, NodeStats>, now: number): LinkView[] {
    const seconds = this.#at === undefined ? 0 : Math.max(0.001, (now - this.#at) / 1000);
    this.#at = now;
    while (this.#history.length > 1 && this.#history[1]!.at <= now - ERROR_WINDOW_MS) this.#history.shift();
    const windowStart = this.#history[0]?.stats;
    this.#history.push({ at: now, stats });
    const served = this.#servedSince(stats);
    const calls = new Map<string, number>();
    const flows = new Map<string, Flow[]>();
    for (const [callerId, node] of stats) {
      for (const service of node.services) {
        for (const seen of service.instances) {
          if (seen.calls === 0) continue;
          const key = `${callerId}>${seen.nodeId}>${service.service}`;
          calls.set(key, seen.calls);
          const before = this.#calls.get(key);
          const link = `${callerId}>${seen.nodeId}`;
          const list = flows.get(link) ?? [];
          list.push({
            service: service.service,
            delta: before === undefined || seconds === 0 ? 0 : Math.max(0, seen.calls - before),
            calls: seen.calls,
            ewmaMs: seen.ewmaMs,
            outstanding: seen.outstanding,
            ejected: seen.state !== "healthy",
          });
          flows.set(link, list);
        }
      }
    }
    this.#calls = calls;
    return [...flows].map(([link, list]) => {
      const [from, to] = link.split(">") as [string, string];
      const services = [...new Set(list.map((flow) => flow.service))].sort();
      const errorRate = keepsMetrics(stats.get(to)) ? failedShare(servedCalls(stats.get(to), windowStart?.get(to), new Set(services))) : null;
      return linkOf(from, to, list, services, seconds, p99Of(served.get(to), services), errorRate);
    });
  }

  /**
   * The oldest reading of the error window, the baseline of error shares:
   * undefined before the second reading (shares are then since each node started).
   */
  get windowStart(): ReadonlyMap<string, NodeStats> | undefined {
    return this.#history.length > 1 ? this.#history[0]!.stats : undefined;
  }

  /** Per callee node and service: the latency buckets of the calls it served since the last reading. */
  #servedSince(stats: ReadonlyMap<string, NodeStats>): Map<string, Map<string, Buckets>> {
    const counts = new Map<string, number[]>();
    const out = new Map<string, Map<string, Buckets>>();
    for (const [nodeId, node] of stats) {
      for (const method of node.methods ?? []) {
        const key = `${nodeId}>${method.service}>${method.method}`;
        counts.set(key, method.buckets);
        const before = this.#served.get(key);
        if (before === undefined || before.length !== method.buckets.length) continue;
        const byService = out.get(nodeId) ?? new Map<string, Buckets>();
        out.set(nodeId, byService);
        const sum = byService.get(method.service);
        const delta = method.buckets.map((count, i) => Math.max(0, count - before[i]!));
        if (sum === undefined) byService.set(method.service, { bounds: method.bounds, counts: delta });
        else if (sum.counts.length === delta.length) delta.forEach((count, i) => (sum.counts[i]! += count));
      }
    }
    this.#served = counts;
    return out;
  }
}

function linkOf(from: string, to: string, flows: readonly Flow[], services: string[], seconds: number, p99Ms: number | null, errorRate: number | null): LinkView {
  const moved = flows.reduce((sum, flow) => sum + flow.delta, 0);
  // Weigh by the calls since the last reading; when there were none, by all calls so far.
  const weight = (flow: Flow): number => (moved > 0 ? flow.delta : flow.calls);
  const total = flows.reduce((sum, flow) => sum + weight(flow), 0) || 1;
  return {
    from,
    to,
    callsPerSecond: seconds > 0 ? round(moved / seconds) : 0,
    latencyMs: round(flows.reduce((sum, flow) => sum + flow.ewmaMs * weight(flow), 0) / total),
    p99Ms,
    errorRate,
    outstanding: flows.reduce((sum, flow) => sum + flow.outstanding, 0),
    ejected: flows.some((flow) => flow.ejected),
    services,
  };
}

/** The p99 (ms) of what the callee served of `services` since the last reading, or null. */
function p99Of(byService: ReadonlyMap<string, Buckets> | undefined, services: readonly string[]): number | null {
  let merged: Buckets | undefined;
  for (const service of services) {
    const buckets = byService?.get(service);
    if (buckets === undefined) continue;
    if (merged === undefined) merged = { bounds: buckets.bounds, counts: [...buckets.counts] };
    else if (merged.counts.length === buckets.counts.length) buckets.counts.forEach((count, i) => (merged!.counts[i]! += count));
  }
  if (merged === undefined) return null;
  const seconds = bucketQuantile(merged.bounds, merged.counts, 0.99);
  return Number.isNaN(seconds) ? null : round(seconds * 1000);
}

function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
