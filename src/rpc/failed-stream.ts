import type { CallStream } from "./call-stream.ts";
import type { MethodKind } from "./contract.ts";
import type { RpcError } from "./rpc-error.ts";

/** A call of `kind` failed with `error`, as its caller expects it: a rejected promise (unary, client-stream) or a failed stream. */
export function failedOutcome(kind: MethodKind, error: RpcError): Promise<unknown> | CallStream<unknown> {
  return kind === "unary" || kind === "client-stream" ? Promise.reject(error) : failedStream(error);
}

/** A stream that fails with `error` when read. */
export function failedStream(error: RpcError): CallStream<unknown> {
  return {
    cancel() {},
    [Symbol.asyncIterator]() {
      return {
        next: () => Promise.reject(error),
        return: () => Promise.resolve({ value: undefined, done: true as const }),
      };
    },
  };
}
