/**
 * How a server interceptor learns a call's outcome whatever its kind: the
 * result settles, the output stream ends or fails, or the call is cancelled
 * or runs past its deadline (`ctx.onAbort`). Tracing and metrics use
 * it; so may any interceptor that times calls.
 */
import type { CallContext } from "./context.ts";
import { RpcError } from "./rpc-error.ts";
import type { StatusCode } from "./status.ts";
import { toRpcError } from "./wire-errors.ts";

/** Told once how a call ended: `"OK"`, or a status code and its error. */
export type OutcomeListener = (code: "OK" | StatusCode, error?: RpcError) => void;

/**
 * Passes `result` (what the next step returned for the call `ctx`) on, and
 * tells `listener` once how the call ended. Streams are wrapped item by item.
 */
export function watchOutcome(result: unknown, ctx: CallContext, listener: OutcomeListener): unknown {
  if (settledNow(result, ctx)) {
    listener("OK");
    return result;
  }
  const single = ctx.kind === "unary" || ctx.kind === "client-stream";
  let done = false;
  const end = (error?: unknown): void => {
    if (done) return;
    done = true;
    if (error === undefined) listener("OK");
    else {
      // The same error the caller gets: a plain Error thrown by a handler is INTERNAL.
      const rpcError = toRpcError(error, ctx, false);
      listener(rpcError.code, rpcError);
    }
  };
  // Cancellation, the deadline and the node stopping all abort the call, whether the handler heeds it or not.
  ctx.onAbort(end);
  if (single) {
    return (result as Promise<unknown>).then(
      (value) => {
        end();
        return value;
      },
      (error: unknown) => {
        end(error);
        throw error;
      },
    );
  }
  return watchedStream(result, end);
}

/**
 * Whether `result` is the outcome of a unary or client-stream call settled in
 * this turn, as most are: nothing can abort it any more, so a stage may
 * record it at once, with no closure made.
 */
export function settledNow(result: unknown, ctx: CallContext): boolean {
  return !(result instanceof Promise) && (ctx.kind === "unary" || ctx.kind === "client-stream");
}

/** An output stream passed through, that reports its end, failure or early return. */
function watchedStream(source: unknown, end: (error?: unknown) => void): AsyncIterable<unknown> | unknown {
  const iterable = source as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null | undefined;
  const open =
    typeof iterable?.[Symbol.asyncIterator] === "function"
      ? () => iterable[Symbol.asyncIterator]!()
      : typeof iterable?.[Symbol.iterator] === "function"
        ? () => iterable[Symbol.iterator]!()
        : undefined;
  // Not a stream: the call fails on it further down, and its abort reports that.
  if (!open) return source;
  return {
    [Symbol.asyncIterator](): AsyncIterator<unknown> {
      const inner = open() as AsyncIterator<unknown> | Iterator<unknown>;
      return {
        async next() {
          try {
            const step = await inner.next();
            if (step.done) end();
            return step;
          } catch (error) {
            end(error);
            throw error;
          }
        },
        async return(value?: unknown) {
          end(new RpcError("CANCELLED", "the call ended before its stream did"));
          return inner.return ? await inner.return(value) : { done: true as const, value };
        },
      };
    },
  };
}
