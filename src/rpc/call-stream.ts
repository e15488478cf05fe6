/** A stream of results from a call: iterate it with `for await`; leaving the loop early cancels the call. */
export interface CallStream<T> extends AsyncIterable<T> {
  /** Cancels the call; the iteration then ends with a CANCELLED error. */
  cancel(reason?: string): void;
}
