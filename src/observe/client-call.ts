import type { Span } from "./otel-types.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import type { AttemptObserver, CallRequest } from "../rpc/context.ts";
import { isRpcError, RpcError } from "../rpc/rpc-error.ts";
import { formatTraceparent, parseTraceparent } from "../rpc/traceparent.ts";
import { endSpan, remoteContext, type Spans } from "./otel.ts";
import type { RecentCalls } from "./recent-calls.ts";
import { addressAttributes } from "./span-attributes.ts";
import { newSpanId, newTraceId } from "./span-ids.ts";

/**
 * The client side of one traced call, all its attempts together: its span
 * (OpenTelemetry's, or ids of its own), the `traceparent` it sends, and its
 * entry in the recent-calls ring once it ends.
 */
export class ClientCall implements AttemptObserver {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly #request: CallRequest;
  readonly #recent: RecentCalls | null;
  readonly #spans: Spans | null;
  readonly #span: Span | null = null;
  readonly #started = performance.now();
  #peer = "";
  #address = "";
  #attempts = 0;
  #done = false;

  /** Starts the call's span and puts its `traceparent` in the request's metadata. */
  constructor(request: CallRequest, recent: RecentCalls | null, spans: Spans | null) {
    this.#request = request;
    this.#recent = recent;
    this.#spans = spans;
    const given = request.meta;
    let flags: number;
    let tracestate = given?.tracestate;
    if (spans !== null) {
      const { api, tracer } = spans;
      // The active span is the parent (a handler's, or the application's own); else the one in the metadata.
      const active = api.context.active();
      const activeSpan = api.trace.getSpanContext(active);
      const parentContext =
        activeSpan !== undefined && api.isSpanContextValid(activeSpan) ? active : remoteContext(api, parseTraceparent(given?.traceparent), tracestate);
      const span = tracer.startSpan(
        `${request.service}/${request.method}`,
        { kind: api.SpanKind.CLIENT, attributes: { "rpc.system": "amoeba", "rpc.service": request.service, "rpc.method": request.method } },
        parentContext,
      );
      this.#span = span;
      const context = span.spanContext();
      this.traceId = context.traceId;
      this.spanId = context.spanId;
      this.parentSpanId = api.trace.getSpanContext(parentContext)?.spanId ?? null;
      flags = context.traceFlags;
      tracestate = context.traceState?.serialize() || tracestate;
    } else {
      const parent = parseTraceparent(given?.traceparent);
      this.traceId = parent?.traceId ?? newTraceId();
      this.spanId = newSpanId();
      this.parentSpanId = parent?.spanId ?? null;
      flags = parent?.flags ?? 1;
    }
    const traceparent = formatTraceparent(this.traceId, this.spanId, flags);
    request.meta = tracestate ? { ...given, traceparent, tracestate } : { ...given, traceparent };
    request.attempts = this;
  }

  attempt(node: string, address: string): void {
    this.#attempts++;
    this.#peer = node;
    this.#address = address;
  }

  /** The call ended: `OK`, or with `error`. Only the first end counts. */
  end(error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    const code = error === undefined ? "OK" : isRpcError(error) ? error.code : "UNKNOWN";
    const durationMs = performance.now() - this.#started;
    const span = this.#span;
    if (span !== null) {
      span.setAttributes(addressAttributes("server", this.#address));
      // A call that never left (no instance to try) has no node at the other end.
      if (this.#peer !== "") span.setAttribute("rpc.amoeba.peer", this.#peer);
      span.setAttribute("rpc.amoeba.attempts", this.#attempts);
      endSpan(this.#spans!.api, span, "client", code, error);
    }
    this.#recent?.add({
      traceId: this.traceId,
      spanId: this.spanId,
      parentSpanId: this.parentSpanId,
      kind: "client",
      service: this.#request.service,
      method: this.#request.method,
      peer: this.#peer,
      // One clock read for both: the start as a wall-clock time, from the monotonic clock's origin.
      start: Math.round(performance.timeOrigin + this.#started),
      durationMs: Math.round(durationMs * 1000) / 1000,
      code,
      attempts: this.#attempts,
    });
  }
}

/** A call's stream, passed through, that ends the call's trace when the stream ends, fails or is left. */
export class TracedStream implements CallStream<unknown> {
  readonly #inner: CallStream<unknown>;
  readonly #call: ClientCall;

  constructor(inner: CallStream<unknown>, call: ClientCall) {
    this.#inner = inner;
    this.#call = call;
  }

  cancel(reason?: string): void {
    this.#inner.cancel(reason);
    this.#call.end(cancelled(reason));
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    const inner = this.#inner[Symbol.asyncIterator]();
    const call = this.#call;
    return {
      next: () =>
        inner.next().then(
          (step) => {
            if (step.done) call.end();
            return step;
          },
          (error: unknown) => {
            call.end(error);
            throw error;
          },
        ),
      return: (value?: unknown) => {
        // Leaving the loop early cancels the call.
        call.end(cancelled("the reader stopped reading"));
        return inner.return ? inner.return(value) : Promise.resolve({ done: true as const, value });
      },
    };
  }
}

/** The outcome a cancelled stream records (the CANCELLED error itself reaches only a reader). */
function cancelled(reason: string | undefined): RpcError {
  return new RpcError("CANCELLED", reason ?? "cancelled by the caller");
}
