import { RpcError } from "./rpc-error.ts";

/**
 * The receiving side of a stream: items arrive with `push`, a consumer takes
 * them with `for await`. It never holds more than the credit it granted:
 * every `grantEvery` items consumed, `onGrant` is told to hand the sender
 * that much more credit.
 */
export class ItemQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  #head = 0;
  #ended = false;
  #error: Error | null = null;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | null = null;
  #consumedSinceGrant = 0;
  #outstanding: number;
  readonly #grantEvery: number;
  readonly #onGrant: (credit: number) => void;
  readonly #onReturn: () => void;

  /**
   * @param window items the sender may send before it hears from us
   * @param onGrant sends credit for more items
   * @param onReturn the consumer stopped early (break, return, throw)
   */
  constructor(window: number, onGrant: (credit: number) => void, onReturn: () => void) {
    this.#outstanding = window;
    this.#grantEvery = Math.max(1, window >> 1);
    this.#onGrant = onGrant;
    this.#onReturn = onReturn;
  }

  /** Adds an item. Returns false when the sender exceeded its credit. */
  push(item: T): boolean {
    if (this.#ended || this.#error) return true;
    if (this.#outstanding <= 0) return false;
    this.#outstanding--;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = null;
      this.#consumed();
      waiter.resolve({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
    return true;
  }

  /** No more items will come. */
  end(): void {
    if (this.#ended || this.#error) return;
    this.#ended = true;
    const waiter = this.#waiter;
    if (waiter && this.#head >= this.#items.length) {
      this.#waiter = null;
      waiter.resolve({ value: undefined, done: true });
    }
  }

  /** The stream failed; the consumer sees `error` after the items already queued. */
  fail(error: Error): void {
    if (this.#ended || this.#error) return;
    this.#error = error;
    const waiter = this.#waiter;
    if (waiter && this.#head >= this.#items.length) {
      this.#waiter = null;
      waiter.reject(error);
    }
  }

  /** Whether the stream ended or failed. */
  get settled(): boolean {
    return this.#ended || this.#error !== null;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head]!;
      this.#items[this.#head++] = undefined as T;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items.splice(0, this.#head);
        this.#head = 0;
      }
      this.#consumed();
      return Promise.resolve({ value, done: false });
    }
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter) return Promise.reject(new RpcError("FAILED_PRECONDITION", "a stream can be read by one reader at a time"));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.settled) {
      this.#ended = true;
      this.#onReturn();
    }
    this.#items.length = 0;
    this.#head = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #consumed(): void {
    if (++this.#consumedSinceGrant >= this.#grantEvery && !this.settled) {
      const credit = this.#consumedSinceGrant;
      this.#consumedSinceGrant = 0;
      this.#outstanding += credit;
      this.#onGrant(credit);
    }
  }
}
