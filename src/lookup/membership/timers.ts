import type { Clock, MembershipLogger } from "./types.ts";

/**
 * The membership's timers on its clock, all cancelled at once by `cancelAll`
 * when it stops. A timer that throws is logged, never let out.
 */
export class TimerSet {
  readonly #clock: Clock;
  readonly #log: MembershipLogger;
  readonly #cancels = new Set<() => void>();

  constructor(clock: Clock, log: MembershipLogger) {
    this.#clock = clock;
    this.#log = log;
  }

  /** Calls `fn` after `delayMs`; returns its own cancel. */
  after(delayMs: number, fn: () => void): () => void {
    const cancel = (): void => {
      stopTimer();
      this.#cancels.delete(cancel);
    };
    const stopTimer = this.#clock.setTimer(delayMs, () => {
      this.#cancels.delete(cancel);
      try {
        fn();
      } catch (error) {
        this.#log.warn({ err: error }, "membership timer failed");
      }
    });
    this.#cancels.add(cancel);
    return cancel;
  }

  cancelAll(): void {
    for (const cancel of [...this.#cancels]) cancel();
  }
}
