/**
 * The part of `@opentelemetry/api` that Amoeba uses, declared here. The API
 * is an optional peer dependency: a user without it still compiles against
 * Amoeba's published types (with `skipLibCheck: false`), so no declaration
 * of the package may import it. test/types/otel-types.ts checks that the
 * real API fits these shapes.
 */

/** An attribute's value (OpenTelemetry's `AttributeValue`). */
export type AttributeValue = string | number | boolean | Array<null | undefined | string> | Array<null | undefined | number> | Array<null | undefined | boolean>;

/** A span's or a resource's attributes. */
export interface Attributes {
  [key: string]: AttributeValue | undefined;
}

/** An immutable context: where the active span lives. Opaque here. */
export interface Context {
  getValue(key: symbol): unknown;
}

/** A `tracestate` header, parsed. */
export interface TraceState {
  serialize(): string;
}

/** What identifies a span across processes. */
export interface SpanContext {
  traceId: string;
  spanId: string;
  isRemote?: boolean;
  traceFlags: number;
  traceState?: TraceState;
}

/** A span's status when it ends. */
export interface SpanStatus {
  code: number;
  message?: string;
}

/** A span, as a tracer starts it. */
export interface Span {
  spanContext(): SpanContext;
  setAttribute(key: string, value: AttributeValue): this;
  setAttributes(attributes: Attributes): this;
  setStatus(status: SpanStatus): this;
  end(): void;
}

/** Options of `startSpan`. */
export interface SpanOptions {
  kind?: number;
  attributes?: Attributes;
}

/** Starts spans. */
export interface Tracer {
  startSpan(name: string, options?: SpanOptions, context?: Context): Span;
}

/** Gives tracers. */
export interface TracerProvider {
  getTracer(name: string, version?: string): Tracer;
}

/** The `@opentelemetry/api` module, as far as Amoeba uses it. */
export interface OtelApi {
  readonly context: {
    active(): Context;
    with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F>;
  };
  readonly trace: {
    getTracer(name: string, version?: string): Tracer;
    getTracerProvider(): TracerProvider;
    getSpanContext(context: Context): SpanContext | undefined;
    setSpanContext(context: Context, spanContext: SpanContext): Context;
    setSpan(context: Context, span: Span): Context;
  };
  readonly ROOT_CONTEXT: Context;
  readonly SpanKind: { readonly SERVER: number; readonly CLIENT: number };
  readonly SpanStatusCode: { readonly ERROR: number };
  isSpanContextValid(spanContext: SpanContext): boolean;
  createTraceState(text?: string): TraceState;
  readonly ProxyTracerProvider: new () => { getDelegate(): TracerProvider };
}
