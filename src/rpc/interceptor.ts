/**
 * Interceptors: code around every call, made or served, composed into one
 * chain (the shape of connect-es interceptors and undici's `compose`). An
 * interceptor takes the next step of the chain and returns a step of the same
 * shape, so it may change the call, time it, look at its outcome, wrap its
 * streams item by item, or answer without calling on at all.
 *
 * Amoeba's own concerns are stages of the same chains: on the caller's side
 * tracing, then route rules and balancing (retries, hedging) as the last step;
 * on the server's side admission, then the user's interceptors, tracing,
 * metrics, validation and the handler. See docs/interceptors.md.
 */
import type { CallStream } from "./call-stream.ts";
import type { CallContext } from "./context.ts";
import type { CallRequest } from "./outgoing-call.ts";

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

/** Interceptors for both sides of a node, outermost first. */
export interface NodeInterceptors {
  /** Around every call the node's clients make (before the client's own). */
  client?: readonly ClientInterceptor[];
  /** Around every call the node serves (before those given to `serve()`). */
  server?: readonly ServerInterceptor[];
}

/** Composes `interceptors` (outermost first) around `last`; no interceptor, no cost. */
export function composeClient(interceptors: readonly ClientInterceptor[], last: ClientNext): ClientNext {
  let next = last;
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next);
  return next;
}

/** Composes `interceptors` (outermost first) around `last`, a handler. */
export function composeServer(interceptors: readonly ServerInterceptor[], last: ServerNext): ServerNext {
  let next = last;
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next);
  return next;
}

/** Checks a list given as interceptors; a TypeError names the first that is not a function. */
export function checkInterceptors(list: unknown, where: string): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) throw new TypeError(`${where} must be an array of interceptors`);
  list.forEach((item, i) => {
    if (typeof item !== "function") throw new TypeError(`${where}[${i}] is not an interceptor (a function of next); got ${typeof item}`);
  });
}
