import type { CallRequest } from "./context.ts";

/**
 * `request` with its {@link CallRequest.parent} folded into its `signal`, for
 * the paths that wait on a signal (retries, dials, hedges): a call's first
 * attempt listens to its parent directly, so only the rarer paths make an
 * `AbortSignal` for it.
 */
export function withParentSignal(request: CallRequest): CallRequest {
  const parent = request.parent;
  if (parent === undefined) return request;
  const linked = new AbortController();
  parent.onAbort((reason) => linked.abort(reason));
  const signal = request.signal ? AbortSignal.any([request.signal, linked.signal]) : linked.signal;
  return { ...request, signal, parent: undefined };
}
