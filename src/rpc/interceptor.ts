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
import type { ClientInterceptor, ClientNext, EventInterceptor, EventNext, ServerInterceptor, ServerNext } from "./context.ts";

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

/** Composes event `interceptors` (outermost first) around `last`. */
export function composeEvents(interceptors: readonly EventInterceptor[], last: EventNext): EventNext {
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
