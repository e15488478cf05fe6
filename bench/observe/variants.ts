import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { TracesOptions } from "../../src/index.ts";

/**
 * How the nodes of the tracing bench trace: not at all; not at all but each
 * call carries a `traceparent` (what an untraced node passes on, and the wire
 * cost every traced call pays); the recent-calls ring; spans through an
 * OpenTelemetry SDK.
 */
export type TraceVariant = "off" | "passthrough" | "recent" | "otel";

export const TRACE_VARIANTS: readonly TraceVariant[] = ["off", "passthrough", "recent", "otel"];

/** The metadata of every call in the "passthrough" variant. */
export const PASSED_META = { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" };

/** The `traces` option of each variant's nodes. */
export function tracesOf(variant: TraceVariant): TracesOptions {
  switch (variant) {
    case "off":
    case "passthrough":
      return { otel: false };
    case "recent":
      return { otel: false, recent: 500 };
    case "otel":
      return { otel: true };
  }
}

/**
 * Registers an OpenTelemetry SDK as production does (every span sampled, a
 * batch processor), with an exporter that drops the batches: what is measured
 * is the cost of making spans, not of shipping them.
 */
export function registerDroppingSdk(): void {
  const dropping: SpanExporter = {
    export: (_spans, done) => done({ code: 0 }),
    shutdown: () => Promise.resolve(),
  };
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping)] }));
}
