/**
 * The recent-calls panel. Nodes started with `traces: { recent: n }` keep a
 * ring of the calls they made and served, each with its trace and span ids,
 * and answer it through the built-in `amoeba.traces` service. The dashboard
 * finds that service by name in what reflection tells (a node too old to
 * serve it is simply not asked), gathers every node's calls, and stitches
 * them by trace id into one path per request across nodes and hops.
 */
import { dynamicContract } from "./dynamic-contract.ts";
import { MAX_BODY_BYTES, MAX_LOG_LINES } from "../observe/call-details.ts";
import type { RecentCall } from "../observe/recent-calls.ts";
import { stitchTrace, type TraceStep } from "../observe/stitch.ts";
import type { ClusterReader, ClusterReading } from "./cluster-reader.ts";
import { RECENT_TRACES_SHOWN, type RecentCallsView, type SpanView, type TraceView } from "./snapshot.ts";

/** The built-in service that answers a node's recent calls. */
export const RECENT_CALLS_SERVICE = "amoeba.traces";
const RECENT_CALLS_METHOD = "recent";
/** How many calls each node is asked for: enough for the traces shown. */
const CALLS_PER_NODE = 200;
/** A span's depth is not followed past this: a malformed parent chain cannot loop. */
const MAX_DEPTH = 32;

/** One call as a node reports it, with the node that kept it and that node's cluster. */
export type ReportedCall = RecentCall & { node: string; cluster: string };

/** Asks every live node that serves the recent-calls service for its latest calls, and groups them by trace. */
export async function readRecentCalls(sources: ReadonlyArray<{ reader: ClusterReader; reading: ClusterReading }>, timeout: number): Promise<RecentCallsView> {
  const asks: Array<Promise<{ capacity: number; calls: ReportedCall[] }>> = [];
  for (const { reader, reading } of sources) {
    for (const member of reading.members) {
      if (member.record.id === reader.node.id) {
        // The node the dashboard reads through (an edge's own, say) may listen nowhere: read its ring in place.
        asks.push(Promise.resolve(reportOf(reader.node.recentCalls({ limit: CALLS_PER_NODE }), member.record.name, reading.cluster)));
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
          return reportOf(await client[RECENT_CALLS_METHOD]!({ limit: CALLS_PER_NODE }, { timeout }), member.record.name, reading.cluster);
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
function reportOf(answer: unknown, node: string, cluster: string): { capacity: number; calls: ReportedCall[] } {
  const report = (typeof answer === "object" && answer !== null ? answer : {}) as { capacity?: unknown; calls?: unknown };
  const calls = Array.isArray(report.calls) ? report.calls : [];
  return {
    capacity: typeof report.capacity === "number" ? report.capacity : 0,
    calls: calls.filter(isReportedCall).map((call) => ({ ...call, node, cluster })),
  };
}

function isReportedCall(value: unknown): value is RecentCall {
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

/** The latest traces, newest first, each as the tree of its calls (see {@link traceOf}). */
export function tracesOf(calls: readonly ReportedCall[]): TraceView[] {
  const byTrace = new Map<string, ReportedCall[]>();
  for (const call of calls) {
    const list = byTrace.get(call.traceId);
    if (list === undefined) byTrace.set(call.traceId, [call]);
    else list.push(call);
  }
  const traces = [...byTrace].map(([traceId, spans]) => traceOf(traceId, spans));
  return traces.sort((a, b) => b.start - a.start).slice(0, RECENT_TRACES_SHOWN);
}

/**
 * One trace as a tree: each call under the one its parent span id names
 * ({@link stitchTrace}), listed depth first — a parent above its children,
 * siblings in order of start — so that the root, the call the request began
 * with, comes first and names the trace. Offsets keep fractions of a
 * millisecond: calls made one after the other within a millisecond still
 * show one after the other.
 */
export function traceOf(traceId: string, calls: readonly ReportedCall[]): TraceView {
  // stitchTrace takes reports as nodes answer them; each call keeps its own node and cluster.
  const reports = [{ node: "", nodeId: "", cluster: "", capacity: calls.length, calls: [...calls] }];
  const roots = stitchTrace(reports, traceId);
  const ordered: Array<{ call: ReportedCall; depth: number }> = [];
  const visit = (step: TraceStep, depth: number): void => {
    ordered.push({ call: step.call as ReportedCall, depth });
    if (depth < MAX_DEPTH) for (const child of step.children) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  const start = Math.min(...ordered.map(({ call }) => call.start));
  const end = Math.max(...ordered.map(({ call }) => call.start + call.durationMs));
  const root = ordered[0]!.call;
  return {
    traceId,
    title: `${root.service}.${root.method}`,
    start,
    durationMs: round(end - start),
    code: root.code !== "OK" ? root.code : (ordered.find(({ call }) => call.code !== "OK")?.call.code ?? "OK"),
    complete: roots.length === 1 && root.parentSpanId === null,
    spans: ordered.map(
      ({ call, depth }): SpanView => ({
        spanId: call.spanId,
        parentSpanId: call.parentSpanId,
        node: call.node,
        cluster: call.cluster,
        kind: call.kind,
        service: call.service,
        method: call.method,
        peer: call.peer,
        offsetMs: round(call.start - start),
        durationMs: round(call.durationMs),
        code: call.code,
        depth,
        ...detailsOf(call),
      }),
    ),
  };
}

/** What a node kept of a call's bodies and logs, as far as it is well formed and within the sizes a node may keep. */
function detailsOf(call: ReportedCall): Pick<SpanView, "input" | "output" | "logs"> {
  const out: Pick<SpanView, "input" | "output" | "logs"> = {};
  const text = (value: unknown): value is string => typeof value === "string" && value.length <= MAX_BODY_BYTES;
  if (text(call.input)) out.input = call.input;
  if (text(call.output)) out.output = call.output;
  if (Array.isArray(call.logs)) {
    const lines = (call.logs as unknown[]).slice(0, MAX_LOG_LINES).filter(
      (line): line is NonNullable<SpanView["logs"]>[number] =>
        typeof line === "object" && line !== null && typeof (line as { level?: unknown }).level === "string" && text((line as { msg?: unknown }).msg) &&
        Number.isFinite((line as { at?: unknown }).at) && ((line as { fields?: unknown }).fields === undefined || text((line as { fields?: unknown }).fields)),
    );
    if (lines.length > 0) out.logs = lines.map(({ level, at, msg, fields }) => ({ level: level.slice(0, 8), at, msg, ...(fields === undefined ? {} : { fields }) }));
  }
  return out;
}

/** Microseconds are the finest a node's clock reading is worth. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
