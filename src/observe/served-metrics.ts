/**
 * Metrics as a stage of the server's chain: each call served counted by
 * service, method and code, with its duration, however it ends (a result, a
 * stream's end, a failure, a cancellation or a deadline).
 */
import type { NodeMetrics, ServedMethodRecorder } from "../metrics/node-metrics.ts";
import type { ServerInterceptor } from "../rpc/context.ts";
import { isRpcError } from "../rpc/rpc-error.ts";
import { watchOutcome } from "../rpc/served-outcome.ts";

/** The metrics stage over a node's `metrics`. */
export function servedMetrics(metrics: NodeMetrics): ServerInterceptor {
  // Composed once per served method: its figures are looked up at its first call, not at each.
  return (next) => {
    let figures: { service: string; method: string; recorder: ServedMethodRecorder } | undefined;
    return (input, ctx) => {
      if (figures === undefined || figures.service !== ctx.service || figures.method !== ctx.method) {
        figures = { service: ctx.service, method: ctx.method, recorder: metrics.servedMethod(ctx.service, ctx.method) };
      }
      const recorder = figures.recorder;
      const started = performance.now();
      const record = (code: string): void => recorder.record(code, (performance.now() - started) / 1000);
      let result: unknown;
      try {
        result = next(input, ctx);
      } catch (error) {
        record(isRpcError(error) ? error.code : "INTERNAL");
        throw error;
      }
      return watchOutcome(result, ctx, record);
    };
  };
}
