import { contract, unary } from "../rpc/contract.ts";
import { plainSchema } from "../rpc/plain-schema.ts";
import { MAX_RECENT_CALLS, type RecentCall, type RecentCallsQuery } from "./recent-calls.ts";

/** What `node.recentCalls()` returns and `amoeba.traces` answers. */
export interface RecentCallsReport {
  node: string;
  nodeId: string;
  cluster: string;
  /** How many calls the node keeps; 0 when it keeps none (`traces.recent` unset). */
  capacity: number;
  /** The matching calls, newest first. */
  calls: RecentCall[];
}

const TRACE_ID = /^[0-9a-f]{32}$/;

function checkQuery(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "expected { traceId?, limit? }";
  const { traceId, limit, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `unknown field ${unknown[0]}; expected { traceId?, limit? }`;
  if (traceId !== undefined && (typeof traceId !== "string" || !TRACE_ID.test(traceId))) return "traceId must be 32 lowercase hex digits";
  if (limit !== undefined && (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_RECENT_CALLS)) {
    return `limit must be an integer from 1 to ${MAX_RECENT_CALLS}`;
  }
  return null;
}

/**
 * Every node serves this contract, so that tools (the dashboard) can gather
 * one call's path across nodes and hops: each node answers with the calls it
 * made and served lately, and a trace id stitches them together.
 */
export const TracesContract = contract("amoeba.traces", "1.0.0", {
  recent: unary({
    input: plainSchema<RecentCallsQuery>(checkQuery),
    output: plainSchema<RecentCallsReport>(() => null),
    idempotent: true,
    description: "The calls this node made and served lately (traces.recent), newest first; of one trace when traceId is given.",
  }),
});
