import type { Logger } from "../logger.ts";
import type { Meta } from "../wire/index.ts";
import type { Client, Contract, MethodKind } from "./contract.ts";
import type { ClientOptions } from "./client.ts";

/** Who made a call. */
export interface CallerInfo {
  /** The calling node's id (unique per process start). */
  readonly id: string;
  /** The calling node's name. */
  readonly name: string;
  /** Where the call came from (`tcp://…`, `unix://…`, `inproc://…`). */
  readonly address: string;
}

/** What a handler knows about the call it serves. */
export interface CallContext {
  /** The service and method being called. */
  readonly service: string;
  readonly method: string;
  /** The method's kind: unary, or which side streams. */
  readonly kind: MethodKind;
  /** Fires when the caller cancels, the deadline passes, or the node stops; `reason` is an RpcError. */
  readonly signal: AbortSignal;
  /** When the call must be done (ms since the epoch), if the caller set a deadline. */
  readonly deadline: number | undefined;
  /**
   * Request metadata from the caller. A server interceptor may replace it
   * (`ctx.meta = { ...ctx.meta, "x-user": id }`) before calling on; never
   * change the object itself, which an in-process caller may still hold.
   */
  meta: Readonly<Meta>;
  /**
   * Metadata that calls made through {@link client} carry: the caller's
   * `traceparent` and `tracestate` (this call's span when the node traces),
   * and whatever an interceptor adds (a tenant, baggage). Replace it to add.
   */
  forwardMeta: Readonly<Meta>;
  /** Response metadata: what is set here is sent back with the result. */
  readonly responseMeta: Meta;
  /** Who is calling. */
  readonly caller: CallerInfo;
  /** The serving node's name. */
  readonly node: string;
  /**
   * The node's logger for this call: its lines carry the node, the service and
   * method, and the call's `trace_id` and `span_id` when it has a trace.
   */
  readonly log: Logger;
  /**
   * A client for calling another service from inside this handler. Its calls
   * carry this call's deadline, cancellation and trace context.
   */
  client<C extends Contract>(contract: C, options?: ClientOptions): Client<C>;
}
