import type { CallObserver, PlaceCall, ServedCallTrace } from "../rpc/call-observer.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import type { CallerInfo } from "../rpc/context.ts";
import type { CallRequest } from "../rpc/outgoing-call.ts";
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
export class CallTracer implements CallObserver {
  readonly #recent: RecentCalls | null;
  readonly #spans: Spans | null;

  constructor(recent: RecentCalls | null, spans: Spans | null) {
    this.#recent = recent;
    this.#spans = spans;
  }

  outgoing(request: CallRequest, place: PlaceCall): Promise<unknown> | CallStream<unknown> {
    if (isBuiltInService(request.service)) return place(request);
    const call = new ClientCall(request, this.#recent, this.#spans);
    let placed: Promise<unknown> | CallStream<unknown>;
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

  incoming(service: string, method: string, meta: Readonly<Meta>, caller: CallerInfo): ServedCallTrace | null {
    if (isBuiltInService(service)) return null;
    return new ServedCall(service, method, meta, caller, this.#recent, this.#spans);
  }
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
  return recent === null && spans === null ? null : new CallTracer(recent, spans);
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
