/**
 * Metrics as a stage of the server's chain: each call served counted by
 * service, method and code, with its duration, however it ends (a result, a
 * stream's end, a failure, a cancellation or a deadline).
 */
import type { NodeMetrics, ServedMethodRecorder } from "../metrics/node-metrics.ts";
import type { ServerInterceptor } from "../rpc/context.ts";
import { isRpcError } from "../rpc/rpc-error.ts";
import { settledNow, watchOutcome } from "../rpc/served-outcome.ts";

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
      let result: unknown;
      try {
        result = next(input, ctx);
      } catch (error) {
        recorder.record(isRpcError(error) ? error.code : "INTERNAL", (performance.now() - started) / 1000);
        throw error;
      }
      if (settledNow(result, ctx)) {
        recorder.record("OK", (performance.now() - started) / 1000);
        return result;
      }
      return watchOutcome(result, ctx, (code) => recorder.record(code, (performance.now() - started) / 1000));
    };
  };
}
