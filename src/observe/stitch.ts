import type { RecentCall } from "./recent-calls.ts";
import type { RecentCallsReport } from "./traces-contract.ts";

/** One side of one call in a stitched trace, with the calls it led to. */
export interface TraceStep {
  /** The node that kept this entry. */
  node: string;
  call: RecentCall;
  /** The entries whose parent is this one, earliest first: the callee's side of a call made, the calls a handler made. */
  children: TraceStep[];
}

/**
 * Puts one trace back together from what several nodes kept
 * (`amoeba.traces` answers): each entry under the one its `parentSpanId`
 * names. Returns the roots, earliest first — one for a trace every node of
 * which kept its part, more when some part is missing (a node without the
 * ring, an entry that rolled out of a ring).
 */
export function stitchTrace(reports: readonly RecentCallsReport[], traceId: string): TraceStep[] {
  const steps = new Map<string, TraceStep>();
  for (const report of reports) {
    for (const call of report.calls) {
      // The same span twice (a report read twice) counts once.
      if (call.traceId === traceId && !steps.has(call.spanId)) steps.set(call.spanId, { node: report.node, call, children: [] });
    }
  }
  const roots: TraceStep[] = [];
  for (const step of steps.values()) {
    const parentId = step.call.parentSpanId;
    const parent = parentId === null ? undefined : steps.get(parentId);
    if (parent !== undefined && parent !== step) parent.children.push(step);
    else roots.push(step);
  }
  const byStart = (a: TraceStep, b: TraceStep): number => a.call.start - b.call.start;
  for (const step of steps.values()) step.children.sort(byStart);
  return roots.sort(byStart);
}
