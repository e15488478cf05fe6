/**
 * The shapes of a call, in one place because they refer to one another: what
 * a handler sees (`CallContext`), what a client asks (`CallRequest`,
 * `ClientOptions`), what an interceptor wraps, and the typed handlers and
 * clients of a contract.
 */
import type { Logger } from "../logger.ts";
import type { PeerCertificate } from "../transport/index.ts";
import type { Meta } from "../wire/index.ts";
import type { CallOptions } from "./call-options.ts";
import type { CallStream } from "./call-stream.ts";
import type { Contract, MethodDef, MethodKind } from "./contract.ts";
import type { AnySchema, SchemaInput, SchemaOutput } from "./schema.ts";

/** Who made a call. */
export interface CallerInfo {
  /** The calling node's id (unique per process start). */
  readonly id: string;
  /** The calling node's name. */
  readonly name: string;
  /** The cluster the calling node says it is in (its HELLO: claimed, like its name); absent from in-process and plain NATS callers. */
  readonly cluster?: string;
  /** Where the call came from (`tcp://…`, `unix://…`, `inproc://…`). */
  readonly address: string;
  /**
   * The certificate the caller presented over mutual TLS, verified against
   * the node's CA: the one identity here no caller can forge. Absent
   * otherwise. (The node's id and name come from its handshake and are
   * only as trustworthy as the connection.)
   */
  readonly certificate?: PeerCertificate;
  /**
   * True when the caller proved, at its connection's handshake, that it holds
   * this node's cluster key (`clusterKey`): a member of the cluster. Absent
   * for nodes without a key, and for in-process and edge callers.
   */
  readonly provedClusterKey?: true;
  /**
   * Who the bearer token the caller presented at its connection's handshake
   * belongs to, as this node's `tokens` named it (the principal
   * `token:<name>`). Never the token itself. Absent when it presented none,
   * or this node takes no tokens.
   */
  readonly token?: string;
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
  /**
   * Calls `listener` once, with the reason, when {@link signal} would fire
   * (at once if it already has); never when the call simply succeeds. The
   * same as listening on `signal`, without making an `AbortSignal` for the
   * call — which an interceptor on every call should not pay for.
   */
  onAbort(listener: (reason: unknown) => void): void;
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
   * method, and the call's `trace_id` and `span_id` when it has a trace. An
   * interceptor may replace it (to add fields, or keep the lines) before
   * calling on.
   */
  log: Logger;
  /**
   * A client for calling another service from inside this handler. Its calls
   * carry this call's deadline, cancellation and trace context.
   */
  client<C extends Contract>(contract: C, options?: ClientOptions): Client<C>;
}

/**
 * Options of a client. The balancing layer adds its own (`balance`,
 * `methods`: see `BalancePolicy`).
 */
export interface ClientOptions {
  /** Default timeout of each call, in ms. Overrides the node's `defaultTimeout`. */
  timeout?: number;
  /** Metadata sent with every call; a call's own `meta` adds to it. */
  meta?: Meta;
  /** The versions of the service to accept. Default: `^` the contract's version. */
  version?: string;
  /** Only instances whose labels include these, e.g. `{ zone: "a" }` (instances found by look-up). */
  labels?: Record<string, string>;
  /**
   * Interceptors around this client's calls, outermost first, inside the
   * node's own client interceptors (see docs/interceptors.md).
   */
  interceptors?: readonly ClientInterceptor[];
  /**
   * Give every call an idempotency key of its own (a random UUID) unless it
   * sets one (`idempotencyKey`): the balancer's retries of a call reuse it,
   * so they are safe even for methods that are not idempotent.
   */
  idempotencyKeys?: boolean;
  /** @internal A handler's context passes its deadline, signal and trace metadata here. */
  inherit?: { deadline?: number | undefined; signal?: AbortSignal; meta?: Readonly<Meta> };
}

/** What a caller asks of one call. */
export interface CallRequest {
  service: string;
  method: string;
  kind: MethodKind;
  /** The version range the callee must satisfy; null for any. */
  version: string | null;
  /** The input, or the input stream for client-streaming kinds. */
  input: unknown;
  deadline: number | undefined;
  signal: AbortSignal | undefined;
  /**
   * The served call this call is made for, when a stage links the two
   * without an `AbortSignal` (a gateway forwards each call it serves this
   * way): when that call is aborted — cancelled, past its deadline, or its
   * node stopping — this call is cancelled too, as by `signal`.
   */
  parent?: Pick<CallContext, "onAbort"> | undefined;
  meta: Meta | undefined;
  onMeta: CallOptions["onMeta"];
  /** The method is idempotent: a balancer may retry or hedge it even when it may have run. */
  idempotent?: boolean;
  /** @internal Set when the result arrives: how long the callee said the call took there, in µs (for the balancer). */
  serverMicros?: number;
  /**
   * Told where each attempt of the call goes (a balancer may make several).
   * An interceptor that wants to know sets it; tracing does.
   */
  attempts?: AttemptObserver | undefined;
}

/** Learns where each attempt of an outgoing call goes (it sits on `CallRequest.attempts`). */
export interface AttemptObserver {
  /** An attempt leaves for `node` at `address` (`inproc://self` for this node). */
  attempt(node: string, address: string): void;
}

/**
 * What one call made here turns into: a promise of its result (unary and
 * client-stream methods) or a stream of results (server-stream and bidi).
 */
export type CallOutcome = Promise<unknown> | CallStream<unknown>;

/** One step of the caller's chain: places `request` and returns its outcome. */
export type ClientNext = (request: CallRequest) => CallOutcome;

/**
 * Code around the calls a client makes: `(next) => (request) => next(request)`
 * does nothing. `request.meta` may be replaced or added to; a step may return
 * `Promise.reject(new RpcError(...))` (or a failed stream) to refuse a call
 * without sending it.
 */
export type ClientInterceptor = (next: ClientNext) => ClientNext;

/**
 * One step of the server's chain, with a handler's shape: the input (an
 * async iterable for client-stream and bidi methods) and the call's context;
 * it returns the result (or a promise of it), or the output stream (an
 * iterable or async iterable) for server-stream and bidi methods.
 */
export type ServerNext = (input: unknown, ctx: CallContext) => unknown;

/**
 * Code around the calls a node serves: `(next) => (input, ctx) => next(input, ctx)`
 * does nothing. `ctx` says who calls (`ctx.caller`), what (`ctx.service`,
 * `ctx.method`, `ctx.kind`), with which metadata (`ctx.meta`, which may be
 * changed before calling on) and until when (`ctx.deadline`, `ctx.signal`).
 * Throwing an RpcError refuses the call with its code.
 */
export type ServerInterceptor = (next: ServerNext) => ServerNext;

/** One event as event interceptors see it, on its way out of this node or in. */
export interface EventMessage {
  /** `out`: published here; `in`: arrived from another node. */
  readonly direction: "out" | "in";
  readonly topic: string;
  /** The payload; an interceptor may replace it before calling on. */
  payload: unknown;
  /** The node that published it (this node, for `out`). */
  readonly from: CallerInfo;
}

/** One step of an event's chain: passes the event on (to the connections, or to the subscribers). */
export type EventNext = (event: EventMessage) => void;

/** Code around every event published here or arriving here; not calling `next` drops the event. */
export type EventInterceptor = (next: EventNext) => EventNext;

/** Interceptors for both sides of a node, outermost first. */
export interface NodeInterceptors {
  /** Around every event published here (`out`) and arriving here (`in`). */
  events?: readonly EventInterceptor[];
  /** Around every call the node's clients make (before the client's own). */
  client?: readonly ClientInterceptor[];
  /** Around every call the node serves (before those given to `serve()`). */
  server?: readonly ServerInterceptor[];
}

/** A value a stream input may be: any sync or async iterable. */
export type StreamSource<T> = AsyncIterable<T> | Iterable<T>;

type In<S extends AnySchema> = SchemaInput<S>;
type Out<S extends AnySchema> = SchemaOutput<S>;

/** The handler a server writes for a method. */
export type HandlerOf<D> =
  D extends MethodDef<"unary", infer I, infer O>
    ? (input: Out<I>, ctx: CallContext) => In<O> | Promise<In<O>>
    : D extends MethodDef<"server-stream", infer I, infer O>
      ? (input: Out<I>, ctx: CallContext) => StreamSource<In<O>>
      : D extends MethodDef<"client-stream", infer I, infer O>
        ? (input: AsyncIterable<Out<I>>, ctx: CallContext) => In<O> | Promise<In<O>>
        : D extends MethodDef<"bidi-stream", infer I, infer O>
          ? (input: AsyncIterable<Out<I>>, ctx: CallContext) => StreamSource<In<O>>
          : never;

/** The function a client calls for a method. */
export type ClientMethodOf<D> =
  D extends MethodDef<"unary", infer I, infer O>
    ? (input: In<I>, options?: CallOptions) => Promise<Out<O>>
    : D extends MethodDef<"server-stream", infer I, infer O>
      ? (input: In<I>, options?: CallOptions) => CallStream<Out<O>>
      : D extends MethodDef<"client-stream", infer I, infer O>
        ? (input: StreamSource<In<I>>, options?: CallOptions) => Promise<Out<O>>
        : D extends MethodDef<"bidi-stream", infer I, infer O>
          ? (input: StreamSource<In<I>>, options?: CallOptions) => CallStream<Out<O>>
          : never;

/** Handlers for every method of a contract. */
export type Handlers<C extends Contract> = { [K in keyof C["methods"]]: HandlerOf<C["methods"][K]> };

/** A typed client of a contract: one function per method. */
export type Client<C extends Contract> = { readonly [K in keyof C["methods"]]: ClientMethodOf<C["methods"][K]> };

