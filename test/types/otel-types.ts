/**
 * Type test: the real `@opentelemetry/api` (a development dependency here)
 * fits the shapes Amoeba declares for it in src/observe/otel-types.ts, which
 * its published types use instead of importing the optional package. Compiled
 * by `tsc --noEmit` as part of `npm test`, never run.
 */
import type * as OpenTelemetry from "@opentelemetry/api";
import type { Attributes, Context, OtelApi, Span, SpanContext, Tracer } from "../../src/observe/otel-types.ts";

declare const api: typeof OpenTelemetry;
export const asApi: OtelApi = api;
declare const span: OpenTelemetry.Span;
export const asSpan: Span = span;
declare const tracer: OpenTelemetry.Tracer;
export const asTracer: Tracer = tracer;
declare const context: OpenTelemetry.Context;
export const asContext: Context = context;
declare const spanContext: OpenTelemetry.SpanContext;
export const asSpanContext: SpanContext = spanContext;
declare const attributes: OpenTelemetry.Attributes;
export const asAttributes: Attributes = attributes;
// And back: what Amoeba hands the API is what the API takes.
export const back: OpenTelemetry.Attributes = {} as Attributes;
