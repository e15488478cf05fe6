/**
 * The recent-calls panel. Nodes started with `traces: { recent: n }` keep a
 * ring of the calls they made and served, each with its trace and span ids,
 * and answer it through the built-in `amoeba.traces` service. The dashboard
 * finds that service by name in what reflection tells (a node too old to
 * serve it is simply not asked), gathers every node's calls, and stitches
 * them by trace id into one path per request across nodes and hops.
 */
import { dynamicContract } from "../cli/dynamic-contract.ts";
import type { RecentCall } from "../observe/recent-calls.ts";
import type { ClusterReader, ClusterReading } from "./cluster-reader.ts";
import { RECENT_TRACES_SHOWN, type RecentCallsView, type SpanView, type TraceView } from "./snapshot.ts";

/** The built-in service that answers a node's recent calls. */
export const RECENT_CALLS_SERVICE = "amoeba.traces";
const RECENT_CALLS_METHOD = "recent";
/** How many calls each node is asked for: enough for the traces shown. */
const CALLS_PER_NODE = 200;
/** A span's depth is not followed past this: a malformed parent chain cannot loop. */
const MAX_DEPTH = 32;

/** One call as a node reports it, with the node that kept it. */
type ReportedCall = RecentCall & { node: string };

/** Asks every live node that serves the recent-calls service for its latest calls, and groups them by trace. */
export async function readRecentCalls(sources: ReadonlyArray<{ reader: ClusterReader; reading: ClusterReading }>, timeout: number): Promise<RecentCallsView> {
  const asks: Array<Promise<{ capacity: number; calls: ReportedCall[] }>> = [];
  for (const { reader, reading } of sources) {
    for (const member of reading.members) {
      if (member.record.id === reader.node.id) {
        // The node the dashboard reads through (an edge's own, say) may listen nowhere: read its ring in place.
        asks.push(Promise.resolve(reportOf(reader.node.recentCalls({ limit: CALLS_PER_NODE }), member.record.name)));
        continue;
      }
      const served = reading.descriptions.get(member.record.id)?.find((description) => description.name === RECENT_CALLS_SERVICE);
      if (served === undefined || !served.methods.some((method) => method.name === RECENT_CALLS_METHOD)) continue;
      asks.push(
        (async () => {
          const peer = await reader.peer(member);
          if (peer === undefined) return { capacity: 0, calls: [] };
          const client = peer.client(dynamicContract(RECENT_CALLS_SERVICE, served.version, RECENT_CALLS_METHOD, "unary")) as Record<
            string,
            (input: unknown, options: { timeout: number }) => Promise<unknown>
          >;
          return reportOf(await client[RECENT_CALLS_METHOD]!({ limit: CALLS_PER_NODE }, { timeout }), member.record.name);
        })().catch(() => ({ capacity: 0, calls: [] })),
      );
    }
  }
  const reports = await Promise.all(asks);
  return {
    service: RECENT_CALLS_SERVICE,
    available: asks.length > 0,
    keeping: reports.some((report) => report.capacity > 0),
    traces: tracesOf(reports.flatMap((report) => report.calls)),
  };
}

/** The calls of a node's answer that have every field the panel reads; others are left out. */
function reportOf(answer: unknown, node: string): { capacity: number; calls: ReportedCall[] } {
  const report = (typeof answer === "object" && answer !== null ? answer : {}) as { capacity?: unknown; calls?: unknown };
  const calls = Array.isArray(report.calls) ? report.calls : [];
  return {
    capacity: typeof report.capacity === "number" ? report.capacity : 0,
    calls: calls.filter(isReportedCall).map((call) => ({ ...call, node })),
  };
}

function isReportedCall(value: unknown): value is Omit<ReportedCall, "node"> {
  if (typeof value !== "object" || value === null) return false;
  const call = value as Record<string, unknown>;
  return (
    ["traceId", "spanId", "service", "method", "peer", "code"].every((field) => typeof call[field] === "string") &&
    (call.kind === "client" || call.kind === "server") &&
    (call.parentSpanId === null || typeof call.parentSpanId === "string") &&
    Number.isFinite(call.start) &&
    Number.isFinite(call.durationMs)
  );
}

/** The latest traces, newest first, each with its spans in order of start and their depth in the call path. */
function tracesOf(calls: readonly ReportedCall[]): TraceView[] {
  const byTrace = new Map<string, ReportedCall[]>();
  for (const call of calls) byTrace.set(call.traceId, [...(byTrace.get(call.traceId) ?? []), call]);
  const traces: TraceView[] = [];
  for (const [traceId, spans] of byTrace) {
    spans.sort((a, b) => a.start - b.start || (a.kind === "client" ? -1 : 1));
    const start = spans[0]!.start;
    const end = Math.max(...spans.map((span) => span.start + span.durationMs));
    const bySpanId = new Map(spans.map((span) => [span.spanId, span]));
    traces.push({
      traceId,
      start,
      durationMs: round(end - start),
      code: spans.find((span) => span.code !== "OK")?.code ?? "OK",
      spans: spans.map(
        (span): SpanView => ({
          node: span.node,
          kind: span.kind,
          service: span.service,
          method: span.method,
          peer: span.peer,
          offsetMs: round(span.start - start),
          durationMs: round(span.durationMs),
          code: span.code,
          depth: depthOf(span, bySpanId),
        }),
      ),
    });
  }
  return traces.sort((a, b) => b.start - a.start).slice(0, RECENT_TRACES_SHOWN);
}

function depthOf(span: ReportedCall, bySpanId: ReadonlyMap<string, ReportedCall>): number {
  let depth = 0;
  for (let parent = span.parentSpanId; parent !== null && depth < MAX_DEPTH; depth++) {
    const above = bySpanId.get(parent);
    if (above === undefined) break;
    parent = above.parentSpanId;
  }
  return depth;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
