/** Something with a deadline that can expire. */
export interface Expirable {
  /** True once the call ended: its deadline no longer matters. */
  readonly settled: boolean;
  /** The deadline passed. */
  expire(): void;
}

// setTimeout fires at once past 2^31-1 ms; such deadlines are kept but never armed for.
const MAX_TIMER = 0x7fffffff;

/**
 * The deadlines of a session's calls under one timer. Calls mostly have the
 * same timeout and so arrive in deadline order: adding is an append, and the
 * one timer only ever waits for the earliest deadline. Ended calls are dropped
 * lazily, from the front as they reach it, or all at once when they pile up
 * behind a slow one. A setTimeout per call would cost an object, a list
 * insertion and a removal on every call.
 */
export class DeadlineQueue {
  #deadlines: number[] = [];
  #items: Expirable[] = [];
  #head = 0;
  #live = 0;
  #timer: NodeJS.Timeout | null = null;
  #armedFor = Infinity;
  #firing = false;

  /** Tracks `item` until `deadline` (ms since the epoch). */
  add(deadline: number, item: Expirable): void {
    const deadlines = this.#deadlines;
    const last = deadlines.length - 1;
    if (last < this.#head || deadlines[last]! <= deadline) {
      deadlines.push(deadline);
      this.#items.push(item);
    } else {
      // Out of order (a shorter timeout than the calls before it): keep the order.
      let low = this.#head;
      let high = deadlines.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (deadlines[mid]! <= deadline) low = mid + 1;
        else high = mid;
      }
      deadlines.splice(low, 0, deadline);
      this.#items.splice(low, 0, item);
    }
    this.#live++;
    if (deadlines.length - this.#head > 2 * this.#live + 256) this.#compact();
    if (deadline < this.#armedFor) this.#arm(deadline);
  }

  /** `item` ended; its entry goes when the queue next passes it. */
  settled(): void {
    this.#live--;
    if (this.#live === 0 && !this.#firing) this.clear();
  }

  /** Forgets everything (the session closed). */
  clear(): void {
    this.#deadlines = [];
    this.#items = [];
    this.#head = 0;
    this.#live = 0;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = Infinity;
  }

  #arm(deadline: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#armedFor = deadline;
    const delay = Math.max(0, deadline - Date.now());
    this.#timer = delay <= MAX_TIMER ? setTimeout(fire, delay, this) : null;
    if (!this.#timer) this.#armedFor = Infinity;
  }

  /** @internal The timer fired: expire what is due, then wait for the next. */
  fire(): void {
    this.#timer = null;
    this.#armedFor = Infinity;
    const now = Date.now();
    const deadlines = this.#deadlines;
    const items = this.#items;
    this.#firing = true;
    while (this.#head < deadlines.length) {
      const item = items[this.#head]!;
      if (!item.settled && deadlines[this.#head]! > now) break;
      items[this.#head] = undefined as unknown as Expirable;
      this.#head++;
      if (!item.settled) item.expire();
    }
    this.#firing = false;
    if (this.#live === 0) {
      this.clear();
      return;
    }
    if (this.#head > 1024 && this.#head * 2 > deadlines.length) this.#compact();
    if (this.#head < this.#deadlines.length) this.#arm(this.#deadlines[this.#head]!);
  }

  #compact(): void {
    const deadlines: number[] = [];
    const items: Expirable[] = [];
    for (let i = this.#head; i < this.#deadlines.length; i++) {
      const item = this.#items[i]!;
      if (!item.settled) {
        deadlines.push(this.#deadlines[i]!);
        items.push(item);
      }
    }
    this.#deadlines = deadlines;
    this.#items = items;
    this.#head = 0;
  }
}

function fire(queue: DeadlineQueue): void {
  queue.fire();
}
