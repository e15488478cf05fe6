/**
 * What the tracing tests share: two contracts (a front that relays to a
 * back), the OpenTelemetry SDK set up as an application would (an in-memory
 * exporter, the AsyncLocalStorage context manager), and finished spans in a
 * form that crosses process boundaries.
 */
import { context, trace, type Attributes } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { z } from "zod";
import { contract, unary } from "../../src/index.ts";

/** How the back's handler ends: answers, throws a plain Error, throws NOT_FOUND, or waits until cancelled. */
export const Mode = z.enum(["ok", "fail", "not-found", "hold"]);
export type Mode = z.infer<typeof Mode>;

export const Back = contract("obs.back", "1.0.0", {
  work: unary({ input: z.object({ mode: Mode }), output: z.string() }),
});

export const Front = contract("obs.front", "1.0.0", {
  relay: unary({ input: z.object({ mode: Mode }), output: z.string() }),
});

/** A finished span, as plain data. */
export interface SpanRecord {
  name: string;
  /** OpenTelemetry's SpanKind: 1 SERVER, 2 CLIENT, 0 INTERNAL. */
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  /** 0 UNSET, 1 OK, 2 ERROR. */
  status: number;
  statusMessage: string | undefined;
  attributes: Attributes;
  durationMs: number;
}

export const SpanKind = { INTERNAL: 0, SERVER: 1, CLIENT: 2 } as const;

/** Registers an SDK that keeps every finished span in memory; returns the exporter. */
export function registerSdk(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  return exporter;
}

export function spanRecord(span: ReadableSpan): SpanRecord {
  return {
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    status: span.status.code,
    statusMessage: span.status.message,
    attributes: span.attributes,
    durationMs: span.duration[0] * 1e3 + span.duration[1] / 1e6,
  };
}
