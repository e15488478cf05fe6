import { WindowedSum } from "./window.ts";

/**
 * A retry budget: retries may add at most `ratio` to the calls a service
 * receives, plus a small floor so that a client making few calls can still
 * retry. Per-call retry limits multiply load exactly when a service is
 * failing (three attempts each, three times the load); a budget shared by all
 * of a client's calls to a service caps the extra load however many calls fail.
 *
 * Over any window, retries ≤ ratio × first attempts + minPerSecond × window
 * seconds: each first attempt deposits `ratio` of a retry, each retry
 * withdraws one, and deposits and withdrawals both expire after `windowMs`.
 */

/** Options of a {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed per first attempt, e.g. 0.2 for 20 % extra load. Default 0.2. */
  ratio?: number;
  /** Retries allowed per second of the window regardless of calls. Default 10. */
  minPerSecond?: number;
  /** How long deposits and withdrawals count, in ms. Default 10 000. */
  windowMs?: number;
  /** The clock, in ms. Default `Date.now`. */
  now?: () => number;
}

// Balances are kept in thousandths of a retry, as integers, so that 5 × 0.2 is exactly one retry.
const SCALE = 1000;

/** How many retries a client may still make; shared by all calls to one service. */
export class RetryBudget {
  readonly #balance: WindowedSum;
  readonly #deposit: number;
  readonly #reserve: number;
  readonly #now: () => number;

  constructor(options: RetryBudgetOptions = {}) {
    const ratio = options.ratio ?? 0.2;
    const minPerSecond = options.minPerSecond ?? 10;
    const windowMs = options.windowMs ?? 10_000;
    if (!(ratio >= 0) || !Number.isFinite(ratio)) throw new RangeError(`ratio must be a finite number >= 0, not ${ratio}`);
    if (!(minPerSecond >= 0) || !Number.isFinite(minPerSecond)) {
      throw new RangeError(`minPerSecond must be a finite number >= 0, not ${minPerSecond}`);
    }
    this.#balance = new WindowedSum({ windowMs });
    this.#deposit = Math.round(ratio * SCALE);
    this.#reserve = Math.round(minPerSecond * (windowMs / 1000) * SCALE);
    this.#now = options.now ?? Date.now;
  }

  /** Counts a first attempt: it earns `ratio` of a retry. `now` saves a clock read when the caller has one (same clock as `options.now`). */
  recordCall(now: number = this.#now()): void {
    if (this.#deposit > 0) this.#balance.add(this.#deposit, now);
  }

  /** Takes one retry from the budget; false, taking nothing, when the budget is spent. */
  tryRetry(): boolean {
    const now = this.#now();
    if (this.#balance.sum(now) + this.#reserve < SCALE) return false;
    this.#balance.add(-SCALE, now);
    return true;
  }

  /** Whole retries the budget allows now. */
  get available(): number {
    return Math.max(0, Math.floor((this.#balance.sum(this.#now()) + this.#reserve) / SCALE));
  }
}
