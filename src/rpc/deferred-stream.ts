import type { CallStream } from "./call-stream.ts";

/**
 * A CallStream that is returned at once while the connection it runs on is
 * still being found or dialed. Reading waits for it; a failure to connect
 * surfaces as the stream's error.
 */
export function deferredStream<T>(pending: Promise<CallStream<T>>): CallStream<T> {
  let cancelled: string | undefined;
  let stream: CallStream<T> | undefined;
  pending.then(
    (s) => {
      stream = s;
      if (cancelled !== undefined) s.cancel(cancelled);
    },
    () => {},
  );
  return {
    cancel(reason = "cancelled by the caller") {
      if (stream) stream.cancel(reason);
      else cancelled = reason;
    },
    [Symbol.asyncIterator]() {
      let iterator: AsyncIterator<T> | undefined;
      const get = async (): Promise<AsyncIterator<T>> => (iterator ??= (await pending)[Symbol.asyncIterator]());
      return {
        next: async () => (await get()).next(),
        return: async () => {
          if (iterator?.return) return iterator.return();
          if (!iterator) {
            // Not started reading yet: cancel the call once it exists.
            pending.then((s) => s.cancel("the reader stopped reading"), () => {});
          }
          return { value: undefined, done: true };
        },
      };
    },
  };
}
