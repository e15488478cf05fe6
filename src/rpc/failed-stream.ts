import type { CallStream } from "./call-stream.ts";
import type { RpcError } from "./rpc-error.ts";

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
