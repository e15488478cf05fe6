import { RpcError } from "../rpc/rpc-error.ts";

// A watcher that falls this far behind is ended rather than allowed to grow without bound.
const MAX_QUEUED = 10_000;

/** An async iterator of changes, fed by `push`, for one watcher. */
export class ChangeQueue<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #ended = false;
  #error: Error | null = null;
  #waiter: ((result: IteratorResult<T>) => void) | null = null;
  #onReturn: (() => void) | null = null;

  push(item: T): void {
    if (this.#ended) return;
    if (this.#waiter) {
      const wake = this.#waiter;
      this.#waiter = null;
      wake({ value: item, done: false });
      return;
    }
    if (this.#items.length >= MAX_QUEUED) {
      this.#error = new RpcError("RESOURCE_EXHAUSTED", `a watcher fell more than ${MAX_QUEUED} changes behind and was stopped`);
      this.end();
      return;
    }
    this.#items.push(item);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onReturn?.();
    if (this.#waiter && this.#items.length === 0) {
      const wake = this.#waiter;
      this.#waiter = null;
      wake({ value: undefined, done: true });
    }
  }

  /** Called once when the consumer stops or the queue ends. */
  onReturn(callback: () => void): void {
    this.#onReturn = callback;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#items = [];
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
