import type { Clock } from "./types.ts";

/**
 * Local health (Lifeguard). A node that gets no acks and no nacks is more likely
 * slow itself (overloaded, paused, losing packets) than surrounded by failures.
 * The score counts such evidence; probe intervals and timeouts are multiplied by
 * `score + 1`, so a struggling node accuses others more slowly.
 */
export class Awareness {
  readonly #max: number;
  #score = 0;

  /** `maxMultiplier`: the largest factor timeouts are stretched by. */
  constructor(maxMultiplier: number) {
    this.#max = Math.max(1, Math.floor(maxMultiplier));
  }

  get score(): number {
    return this.#score;
  }

  /** The factor for probe intervals and timeouts, from 1 (healthy) up to the maximum. */
  get multiplier(): number {
    return this.#score + 1;
  }

  apply(delta: number): void {
    this.#score = Math.min(this.#max - 1, Math.max(0, this.#score + delta));
  }
}

/**
 * The suspicion timeout of Lifeguard: it starts at `max` and shrinks towards `min`
 * as other members independently suspect the same member, on a log scale of the
 * `expected` confirmations: `max − (max − min)·log(c + 1)/log(expected + 1)`.
 * Many independent suspicions make a false one unlikely, so the member is
 * declared dead sooner; a lone suspicion (maybe our own bad link) waits longest.
 */
export function suspicionTimeout(min: number, max: number, expected: number, confirmations: number): number {
  if (expected < 1) return min;
  const fraction = Math.log(confirmations + 1) / Math.log(expected + 1);
  return Math.max(min, Math.floor(max - (max - min) * fraction));
}

/** One member under suspicion: a timer that shrinks with each new confirmation. */
export class Suspicion {
  readonly #clock: Clock;
  readonly #min: number;
  readonly #max: number;
  readonly #expected: number;
  readonly #start: number;
  readonly #confirmedBy = new Set<string>();
  readonly #onTimeout: () => void;
  #cancel: (() => void) | null = null;
  #done = false;

  /**
   * `from`: who raised the suspicion (not counted as a confirmation).
   * `expected`: confirmations that bring the timeout down to `min`.
   */
  constructor(clock: Clock, options: { min: number; max: number; expected: number; from: string; onTimeout: () => void }) {
    this.#clock = clock;
    this.#min = options.min;
    this.#max = options.max;
    this.#expected = options.expected;
    this.#onTimeout = options.onTimeout;
    this.#start = clock.now();
    this.#confirmedBy.add(options.from);
    this.#arm();
  }

  /** Independent confirmations so far. */
  get confirmations(): number {
    return this.#confirmedBy.size - 1;
  }

  /** Counts `from` once; returns whether it was new (worth passing on). */
  confirm(from: string): boolean {
    if (this.#done || this.confirmations >= this.#expected || this.#confirmedBy.has(from)) return false;
    this.#confirmedBy.add(from);
    this.#arm();
    return true;
  }

  cancel(): void {
    this.#done = true;
    this.#cancel?.();
    this.#cancel = null;
  }

  #arm(): void {
    this.#cancel?.();
    const timeout = suspicionTimeout(this.#min, this.#max, this.#expected, this.confirmations);
    const remaining = Math.max(0, this.#start + timeout - this.#clock.now());
    this.#cancel = this.#clock.setTimer(remaining, () => {
      if (this.#done) return;
      this.#done = true;
      this.#onTimeout();
    });
  }
}

/** Confirmations expected before a suspicion times out at its shortest, among `n` members. */
export function expectedConfirmations(suspicionMultiplier: number, n: number): number {
  const k = suspicionMultiplier - 2;
  // Too few other members to confirm: the shortest timeout applies.
  return n - 2 < k ? 0 : k;
}
