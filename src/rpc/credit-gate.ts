/**
 * The sending side of a stream's flow control: items may be sent only while
 * the receiver has granted credit. `wait` resolves when credit arrives or the
 * gate closes.
 */
export class CreditGate {
  #credit: number;
  #closed = false;
  #waiter: (() => void) | null = null;

  constructor(initial: number) {
    this.#credit = initial;
  }

  /** The receiver granted `n` more items. */
  add(n: number): void {
    this.#credit += n;
    this.#wake();
  }

  /** Takes one credit if there is one. */
  take(): boolean {
    if (this.#credit <= 0) return false;
    this.#credit--;
    return true;
  }

  /** Resolves when there is credit, or the gate closed. */
  wait(): Promise<void> {
    if (this.#credit > 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** No more sending: wakes a waiting sender so it can stop. */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = null;
      waiter();
    }
  }
}
