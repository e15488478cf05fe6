import type { Context, Span } from "./otel-types.ts";
import type { CallContext, CallerInfo, ServerNext } from "../rpc/context.ts";
import type { RpcError } from "../rpc/rpc-error.ts";
import { formatTraceparent, parseTraceparent } from "../rpc/traceparent.ts";
import type { Meta } from "../wire/index.ts";
import { endSpan, remoteContext, type Spans } from "./otel.ts";
import type { LoggedLine } from "./call-details.ts";
import type { RecentCalls } from "./recent-calls.ts";
import { addressAttributes } from "./span-attributes.ts";
import { newSpanId, newTraceId } from "./span-ids.ts";

/**
 * The server side of one traced call: a span whose parent is the caller's
 * `traceparent`, the context the handler runs in, and its entry in the
 * recent-calls ring once it ends.
 */
export class ServedCall {
  readonly traceId: string;
  readonly spanId: string;
  readonly #parentSpanId: string | null;
  readonly #flags: number;
  readonly #tracestate: string | undefined;
  readonly #service: string;
  readonly #method: string;
  readonly #caller: CallerInfo;
  readonly #recent: RecentCalls | null;
  readonly #spans: Spans | null;
  readonly #span: Span | null = null;
  readonly #context: Context | null = null;
  readonly #started = performance.now();
  #nestedMeta: Meta | null = null;
  #done = false;
  /** What the node keeps of the call besides timings, when it opted in (see call-details.ts). */
  input: string | undefined;
  output: string | undefined;
  logs: LoggedLine[] | undefined;

  constructor(service: string, method: string, meta: Readonly<Meta>, caller: CallerInfo, recent: RecentCalls | null, spans: Spans | null) {
    this.#service = service;
    this.#method = method;
    this.#caller = caller;
    this.#recent = recent;
    this.#spans = spans;
    const parent = parseTraceparent(meta.traceparent);
    this.#parentSpanId = parent?.spanId ?? null;
    this.#tracestate = meta.tracestate;
    if (spans !== null) {
      const { api, tracer } = spans;
      const parentContext = remoteContext(api, parent, meta.tracestate);
      const span = tracer.startSpan(
        `${service}/${method}`,
        { kind: api.SpanKind.SERVER, attributes: { "rpc.system": "amoeba", "rpc.service": service, "rpc.method": method } },
        parentContext,
      );
      this.#span = span;
      this.#context = api.trace.setSpan(parentContext, span);
      const context = span.spanContext();
      this.traceId = context.traceId;
      this.spanId = context.spanId;
      this.#flags = context.traceFlags;
    } else {
      this.traceId = parent?.traceId ?? newTraceId();
      this.spanId = newSpanId();
      this.#flags = parent?.flags ?? 1;
    }
  }

  /** Metadata of the handler's nested calls: a `traceparent` naming this call's span. */
  get nestedMeta(): Readonly<Meta> {
    if (this.#nestedMeta === null) {
      const traceparent = formatTraceparent(this.traceId, this.spanId, this.#flags);
      this.#nestedMeta = this.#tracestate ? { traceparent, tracestate: this.#tracestate } : { traceparent };
    }
    return this.#nestedMeta;
  }

  /** Runs the next step of the chain inside this call's span, the active one while the handler runs. */
  run(next: ServerNext, input: unknown, ctx: CallContext): unknown {
    if (this.#context === null) return next(input, ctx);
    return this.#spans!.api.context.with(this.#context, next, undefined, input, ctx);
  }

  /** The call ended with `code` (`"OK"` or a status code), and `error` when it failed. Only the first end counts. */
  end(code: string, error?: RpcError): void {
    if (this.#done) return;
    this.#done = true;
    const durationMs = performance.now() - this.#started;
    const caller = this.#caller;
    if (this.#span !== null) {
      this.#span.setAttributes(addressAttributes("client", caller.address));
      this.#span.setAttribute("rpc.amoeba.caller", caller.name);
      endSpan(this.#spans!.api, this.#span, "server", code, error);
    }
    this.#recent?.add({
      traceId: this.traceId,
      spanId: this.spanId,
      parentSpanId: this.#parentSpanId,
      kind: "server",
      service: this.#service,
      method: this.#method,
      peer: caller.name,
      // One clock read for both: the start as a wall-clock time, from the monotonic clock's origin.
      start: Math.round((performance.timeOrigin + this.#started) * 1000) / 1000,
      durationMs: Math.round(durationMs * 1000) / 1000,
      code,
      ...(this.input === undefined ? {} : { input: this.input }),
      ...(this.output === undefined ? {} : { output: this.output }),
      ...(this.logs === undefined ? {} : { logs: this.logs }),
    });
  }
}
