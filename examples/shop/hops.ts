/**
 * Where a call ran and how long it took, told by the services themselves in
 * their response metadata (`ctx.responseMeta`), so that the shopper can print
 * the path of each call without guessing.
 */
import { performance } from "node:perf_hooks";
import type { CallContext, Meta } from "../../src/index.ts";

/** One call as its caller saw it. */
export interface Hop {
  /** `service.method` */
  call: string;
  /** `name@pid 1234` of the node that served it. */
  servedBy: string;
  /** Round trip measured by the caller, in ms. */
  ms: number;
  /** How much of the deadline the callee had left when the call arrived, in ms. */
  deadlineLeft: number | null;
  /** The trace id the callee saw (from the `traceparent` that travels with calls). */
  traceId: string | null;
}

/**
 * Call at the start of a handler; call what it returns just before the handler
 * returns, with the calls the handler made, to fill in the response metadata.
 */
export function serving(ctx: CallContext): (nested?: Hop[]) => void {
  const start = performance.now();
  const deadlineLeft = ctx.deadline === undefined ? null : ctx.deadline - Date.now();
  return (nested = []) => {
    const meta = ctx.responseMeta;
    meta["served-by"] = `${ctx.node}@pid ${process.pid}`;
    meta["handler-ms"] = (performance.now() - start).toFixed(3);
    if (deadlineLeft !== null) meta["deadline-left-ms"] = String(deadlineLeft);
    const traceId = traceIdOf(ctx.meta["traceparent"]);
    if (traceId) meta["trace-id"] = traceId;
    if (nested.length > 0) meta["calls"] = JSON.stringify(nested);
  };
}

/** Makes one call with `onMeta` wired in, and notes it in `hops`. */
export async function timed<T>(hops: Hop[], call: string, run: (onMeta: (meta: Meta) => void) => Promise<T>): Promise<T> {
  let meta: Meta = {};
  const start = performance.now();
  const value = await run((received) => (meta = received));
  hops.push(hopFrom(call, performance.now() - start, meta));
  return value;
}

/** The hop a response's metadata describes. */
export function hopFrom(call: string, ms: number, meta: Meta): Hop {
  const left = meta["deadline-left-ms"];
  return {
    call,
    servedBy: meta["served-by"] ?? "?",
    ms,
    deadlineLeft: left === undefined ? null : Number(left),
    traceId: meta["trace-id"] ?? null,
  };
}

/** The calls a handler reported having made. */
export function nestedHops(meta: Meta): Hop[] {
  const text = meta["calls"];
  return text === undefined ? [] : (JSON.parse(text) as Hop[]);
}

/** The trace id of a W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`). */
export function traceIdOf(traceparent: string | undefined): string | null {
  return /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent ?? "")?.[1] ?? null;
}
