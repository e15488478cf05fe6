/** A count of calls in flight, and a wait for the moment there are none (a drain waits on it). */
export class InFlight {
  #count = 0;
  #waiters: Array<() => void> = [];

  /** A call began. */
  enter(): void {
    this.#count++;
  }

  /** A call ended; bound, so that it can be handed on as a callback. */
  readonly leave = (): void => {
    if (--this.#count === 0 && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  };

  /** Resolves once no call is in flight. */
  idle(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
