import type { CallContext, CallOutcome, CallRequest, CallerInfo, ClientInterceptor, ClientNext, ServerInterceptor } from "../rpc/context.ts";
import type { MethodKind } from "../rpc/contract.ts";
import { bodyText, detailsOptions, tappedLogger, type DetailsOptions, type LoggedLine } from "./call-details.ts";
import { isRpcError } from "../rpc/rpc-error.ts";
import { settledNow, watchOutcome } from "../rpc/served-outcome.ts";
import { isBuiltInService } from "../rpc/reflection.ts";
import type { Meta } from "../wire/index.ts";
import { ClientCall, TracedStream } from "./client-call.ts";
import { createSpans, loadOpenTelemetry, tracerProviderRegistered, type Spans } from "./otel.ts";
import { MAX_RECENT_CALLS, RecentCalls } from "./recent-calls.ts";
import { ServedCall } from "./served-call.ts";
import type { TracesOptions } from "./traces-options.ts";


/**
 * A node's tracing: a span per call made and per call served (OpenTelemetry's
 * when on), the `traceparent` they send, and the recent-calls ring. Calls to
 * Amoeba's built-in services (tools polling `amoeba.*`) are left out.
 */
export class CallTracer {
  readonly #recent: RecentCalls | null;
  readonly #spans: Spans | null;
  readonly #details: DetailsOptions | null;

  constructor(recent: RecentCalls | null, spans: Spans | null, details: DetailsOptions | null = null) {
    this.#recent = recent;
    this.#spans = spans;
    this.#details = recent === null ? null : details;
  }

  /** The tracing stage of the caller's chain. */
  readonly client: ClientInterceptor = (next) => (request) => this.outgoing(request, next);

  /** The tracing stage of the server's chain: the handler runs inside the call's span. */
  readonly server: ServerInterceptor = (next) => (input, ctx) => {
    const trace = this.incoming(ctx.service, ctx.method, ctx.meta, ctx.caller);
    if (trace === null) return next(input, ctx);
    ctx.forwardMeta = { ...ctx.forwardMeta, ...trace.nestedMeta };
    const details = this.#details;
    if (details !== null) this.#watchDetails(trace, details, input, ctx);
    let result: unknown;
    try {
      result = trace.run(next, input, ctx);
    } catch (error) {
      trace.end(isRpcError(error) ? error.code : "INTERNAL", isRpcError(error) ? error : undefined);
      throw error;
    }
    if (settledNow(result, ctx)) {
      if (details !== null && details.bodies > 0) trace.output = outputText(result, ctx, details.bodies);
      trace.end("OK");
      return result;
    }
    if (details !== null && details.bodies > 0 && result instanceof Promise) {
      result = result.then((value: unknown) => ((trace.output = outputText(value, ctx, details.bodies)), value));
    }
    return watchOutcome(result, ctx, (code, error) => trace.end(code, error));
  };

  /** Keeps the input, and the handler's log lines, of a call served: what the node opted in to. */
  #watchDetails(trace: ServedCall, details: DetailsOptions, input: unknown, ctx: CallContext): void {
    if (details.bodies > 0) {
      trace.input = streamsIn(ctx.kind) ? "(a stream)" : bodyText(input, details.bodies);
      if (ctx.kind === "server-stream" || ctx.kind === "bidi-stream") trace.output = "(a stream)";
    }
    if (details.logs > 0) {
      const lines: LoggedLine[] = (trace.logs = []);
      ctx.log = tappedLogger(ctx.log, lines, details.logs, Math.max(details.bodies, 512));
    }
  }

  /** Places an outgoing call through `place`, traced. */
  outgoing(request: CallRequest, place: ClientNext): CallOutcome {
    if (isBuiltInService(request.service)) return place(request);
    const call = new ClientCall(request, this.#recent, this.#spans);
    let placed: CallOutcome;
    try {
      placed = place(request);
    } catch (error) {
      call.end(error);
      throw error;
    }
    if (!(placed instanceof Promise)) return new TracedStream(placed, call);
    return placed.then(
      (value) => {
        call.end();
        return value;
      },
      (error: unknown) => {
        call.end(error);
        throw error;
      },
    );
  }

  /** A call arrived for a handler here: its trace, or null for a call not traced (a built-in service). */
  incoming(service: string, method: string, meta: Readonly<Meta>, caller: CallerInfo): ServedCall | null {
    if (isBuiltInService(service)) return null;
    return new ServedCall(service, method, meta, caller, this.#recent, this.#spans);
  }
}

function streamsIn(kind: MethodKind): boolean {
  return kind === "client-stream" || kind === "bidi-stream";
}

function outputText(value: unknown, ctx: CallContext, max: number): string {
  return ctx.kind === "server-stream" || ctx.kind === "bidi-stream" ? "(a stream)" : bodyText(value, max);
}

/**
 * The tracing `options` ask for, or null when a node traces nothing (no ring,
 * no OpenTelemetry): then its calls pay one check. Throws a TypeError on bad
 * options.
 */
export function createCallTracer(options: TracesOptions | undefined, recent: RecentCalls | null): CallTracer | null {
  const otel = options?.otel;
  if (otel !== undefined && typeof otel !== "boolean") throw new TypeError(`traces.otel must be true or false; got ${typeof otel}`);
  let spans: Spans | null = null;
  if (otel !== false) {
    const api = loadOpenTelemetry();
    if (otel === true && api === null) throw new TypeError("traces.otel is true, but @opentelemetry/api is not installed (npm install @opentelemetry/api)");
    if (api !== null && (otel === true || tracerProviderRegistered(api))) spans = createSpans(api);
  }
  const details = detailsOptions(options?.bodies, options?.logs);
  return recent === null && spans === null ? null : new CallTracer(recent, spans, details);
}

/** The recent-calls ring `options` ask for, or null; a TypeError for a bad size. */
export function createRecentCalls(options: TracesOptions | undefined): RecentCalls | null {
  const size = options?.recent ?? 0;
  if (!Number.isInteger(size) || size < 0 || size > MAX_RECENT_CALLS) {
    throw new TypeError(`traces.recent must be an integer from 0 to ${MAX_RECENT_CALLS}; got ${String(size)}`);
  }
  if (size === 0) return null;
  return new RecentCalls(size);
}
