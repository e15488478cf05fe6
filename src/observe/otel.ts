import { createRequire } from "node:module";
import type { TraceParent } from "../rpc/traceparent.ts";
import type { Context, OtelApi, Span, Tracer, TracerProvider } from "./otel-types.ts";

export type { OtelApi } from "./otel-types.ts";

/** What call spans need: the API and Amoeba's tracer. */
export interface Spans {
  readonly api: OtelApi;
  readonly tracer: Tracer;
}

let loaded: OtelApi | null | undefined;

/**
 * `@opentelemetry/api` when it is installed (an optional peer dependency),
 * loaded on first use; null when it is not. Loaded synchronously, so that a
 * node's constructor can decide. Two copies of the API (this one and the
 * application's ESM import) share one registry on `globalThis` by design.
 */
export function loadOpenTelemetry(): OtelApi | null {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)("@opentelemetry/api") as OtelApi;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

/** Whether an SDK registered a tracer provider (without one, every span would be a no-op). */
export function tracerProviderRegistered(api: OtelApi): boolean {
  const noop = new api.ProxyTracerProvider().getDelegate();
  // The registered provider is a proxy (maybe another copy's): its delegate is the SDK's.
  const provider = api.trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider };
  const delegate = typeof provider.getDelegate === "function" ? provider.getDelegate() : provider;
  return delegate !== noop;
}

/** Amoeba's tracer on the registered provider. */
export function createSpans(api: OtelApi): Spans {
  return { api, tracer: api.trace.getTracer("amoeba") };
}

/** The context of a caller's span that arrived in call metadata; the root context when none did. */
export function remoteContext(api: OtelApi, parent: TraceParent | null, tracestate: string | undefined): Context {
  if (parent === null) return api.ROOT_CONTEXT;
  return api.trace.setSpanContext(api.ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.flags,
    isRemote: true,
    ...(tracestate ? { traceState: api.createTraceState(tracestate) } : {}),
  });
}

// gRPC's convention, which OpenTelemetry's RPC conventions follow: a server
// span is an error only for codes that say the server failed, not the caller.
const SERVER_ERRORS: ReadonlySet<string> = new Set(["UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"]);

/** Ends a call's span with its outcome: `rpc.response.status_code`, and an error status where it is one. */
export function endSpan(api: OtelApi, span: Span, side: "client" | "server", code: string, error: unknown): void {
  span.setAttribute("rpc.response.status_code", code);
  if (code !== "OK" && (side === "client" || SERVER_ERRORS.has(code))) {
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : code });
  }
  span.end();
}
