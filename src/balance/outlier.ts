import { WindowedRate } from "./window.ts";

/**
 * Outlier ejection: instances that keep failing are taken out of the rotation
 * for a while, then let back one trial call at a time. It reacts to what calls
 * see, faster and more precisely than membership or health checks can, and
 * sits under the balancer: the balancer asks {@link OutlierDetector.allow}
 * before choosing an instance and reports each result with
 * {@link OutlierDetector.record}.
 */

/**
 * Where an instance stands: in rotation, out of it, or out of it with one
 * trial call at a time allowed.
 */
export type OutlierState = "healthy" | "ejected" | "probing";

/** Options of an {@link OutlierDetector}; every one has a default. */
export interface OutlierOptions {
  /** Failures in a row that eject an instance. Default 5. */
  consecutiveFailures?: number;
  /** The failure share over the window that ejects an instance. Default 0.5. */
  errorRate?: number;
  /** Calls in the window below which the error-rate rule does not apply. Default 10. */
  minCalls?: number;
  /** The window, in ms, the error rate is measured over. Default 10 000. */
  windowMs?: number;
  /** The first ejection's length, in ms; each one after a failed trial is twice the last. Default 1 000. */
  baseEjectionMs?: number;
  /** The longest ejection, in ms. Default 30 000. */
  maxEjectionMs?: number;
  /** The largest share of members that may be out at once; at least one always stays in. Default 0.5. */
  maxEjectedShare?: number;
  /** How long, in ms, a trial call may stay unanswered before another is let through. Default 10 000. */
  probeTimeoutMs?: number;
}

/** One instance's standing, as {@link OutlierDetector.snapshot} reports it. */
export interface InstanceHealth {
  state: OutlierState;
  /** Failures in a row since the last success. */
  consecutiveFailures: number;
  /** Failed share of the calls in the window (0 with no calls). */
  errorRate: number;
  /** Calls counted in the window. */
  calls: number;
  /** When the current ejection ends (ms); set while ejected or probing. */
  ejectedUntil?: number;
  /** How many times the instance was ejected since it became a member. */
  ejections: number;
}

interface Entry {
  consecutiveFailures: number;
  window: WindowedRate;
  /** Out of rotation: ejected, or probing once `ejectedUntil` passed. */
  out: boolean;
  ejectedUntil: number;
  /** When the trial call now out was let through. */
  probeSince: number | undefined;
  /** The exponent of the next ejection's length. */
  level: number;
  healthySince: number;
  ejections: number;
}

/** Tracks call results per instance id and takes failing instances out of rotation. */
export class OutlierDetector {
  readonly #consecutiveFailures: number;
  readonly #errorRate: number;
  readonly #minCalls: number;
  readonly #windowMs: number;
  readonly #baseEjectionMs: number;
  readonly #maxEjectionMs: number;
  readonly #maxEjectedShare: number;
  readonly #probeTimeoutMs: number;
  #entries = new Map<string, Entry>();
  #outCount = 0;
  // Until setMembers is first called, any id recorded becomes a member.
  #membersGiven = false;

  constructor(options: OutlierOptions = {}) {
    this.#consecutiveFailures = positive("consecutiveFailures", options.consecutiveFailures ?? 5);
    this.#errorRate = positive("errorRate", options.errorRate ?? 0.5);
    this.#minCalls = positive("minCalls", options.minCalls ?? 10);
    this.#windowMs = positive("windowMs", options.windowMs ?? 10_000);
    this.#baseEjectionMs = positive("baseEjectionMs", options.baseEjectionMs ?? 1_000);
    this.#maxEjectionMs = Math.max(this.#baseEjectionMs, positive("maxEjectionMs", options.maxEjectionMs ?? 30_000));
    this.#maxEjectedShare = options.maxEjectedShare ?? 0.5;
    this.#probeTimeoutMs = positive("probeTimeoutMs", options.probeTimeoutMs ?? 10_000);
    if (!(this.#maxEjectedShare >= 0 && this.#maxEjectedShare <= 1)) {
      throw new RangeError(`maxEjectedShare must be in [0, 1], not ${this.#maxEjectedShare}`);
    }
  }

  /**
   * The current instance set. Ids not in it are forgotten, new ones start
   * healthy. From the first call on, results for ids outside the set are
   * ignored, so a late answer from a removed instance does not bring it back.
   */
  setMembers(ids: Iterable<string>): void {
    const entries = new Map<string, Entry>();
    let outCount = 0;
    for (const id of ids) {
      const entry = this.#entries.get(id) ?? entries.get(id) ?? this.#newEntry();
      if (!entries.has(id) && entry.out) outCount++;
      entries.set(id, entry);
    }
    this.#entries = entries;
    this.#outCount = outCount;
    this.#membersGiven = true;
  }

  /** Counts the result of one call to `id` that ended at `now` (ms). */
  record(id: string, ok: boolean, now: number): void {
    let entry = this.#entries.get(id);
    if (!entry) {
      if (this.#membersGiven) return;
      entry = this.#newEntry();
      this.#entries.set(id, entry);
    }
    if (entry.out) {
      // While ejected, answers are from calls sent before the ejection: they say nothing new.
      if (now < entry.ejectedUntil || entry.probeSince === undefined) return;
      if (ok) this.#readmit(entry, now);
      else this.#eject(entry, now);
      return;
    }
    entry.window.record(ok, now);
    if (ok) {
      entry.consecutiveFailures = 0;
      return;
    }
    entry.consecutiveFailures++;
    const tripped =
      entry.consecutiveFailures >= this.#consecutiveFailures ||
      (entry.window.calls(now) >= this.#minCalls && entry.window.rate(now) >= this.#errorRate);
    if (tripped && this.#mayEject()) {
      this.#outCount++;
      this.#eject(entry, now);
    }
  }

  /** How many members are out of rotation (ejected or probing): 0 lets a balancer skip asking each one. */
  get outCount(): number {
    return this.#outCount;
  }

  /** Where `id` stands at `now`; an unknown id is healthy. */
  state(id: string, now: number): OutlierState {
    const entry = this.#entries.get(id);
    if (!entry?.out) return "healthy";
    return now < entry.ejectedUntil ? "ejected" : "probing";
  }

  /**
   * Whether a call may go to `id` now: always when healthy, never when
   * ejected; when probing, to one trial call at a time (this call takes the
   * trial's place, so ask only when about to send).
   */
  allow(id: string, now: number): boolean {
    const entry = this.#entries.get(id);
    if (!entry?.out) return true;
    if (now < entry.ejectedUntil) return false;
    // A trial whose answer never came (the caller gave up on it) must not block the instance for good.
    if (entry.probeSince !== undefined && now - entry.probeSince < this.#probeTimeoutMs) return false;
    entry.probeSince = now;
    return true;
  }

  /** Every member's standing at `now`, by id. */
  snapshot(now: number): Map<string, InstanceHealth> {
    const result = new Map<string, InstanceHealth>();
    for (const [id, entry] of this.#entries) {
      const health: InstanceHealth = {
        state: this.state(id, now),
        consecutiveFailures: entry.consecutiveFailures,
        errorRate: entry.window.rate(now),
        calls: entry.window.calls(now),
        ejections: entry.ejections,
      };
      if (entry.out) health.ejectedUntil = entry.ejectedUntil;
      result.set(id, health);
    }
    return result;
  }

  #newEntry(): Entry {
    return {
      consecutiveFailures: 0,
      window: new WindowedRate({ windowMs: this.#windowMs }),
      out: false,
      ejectedUntil: 0,
      probeSince: undefined,
      level: 0,
      healthySince: -Infinity,
      ejections: 0,
    };
  }

  /** Whether one more instance may be taken out without going over the share, or leaving none in. */
  #mayEject(): boolean {
    const after = this.#outCount + 1;
    return after < this.#entries.size && after <= this.#maxEjectedShare * this.#entries.size;
  }

  /** Takes `entry` out (again), for twice as long as the last time unless it was healthy for a whole window since. */
  #eject(entry: Entry, now: number): void {
    if (!entry.out && now - entry.healthySince >= this.#windowMs) entry.level = 0;
    const length = Math.min(this.#maxEjectionMs, this.#baseEjectionMs * 2 ** entry.level);
    entry.level = Math.min(entry.level + 1, 52);
    entry.out = true;
    entry.ejectedUntil = now + length;
    entry.probeSince = undefined;
    entry.ejections++;
  }

  /** A trial call succeeded: back in rotation, with a clean window so old failures do not eject it again. */
  #readmit(entry: Entry, now: number): void {
    entry.out = false;
    entry.probeSince = undefined;
    entry.consecutiveFailures = 0;
    entry.window.clear();
    entry.healthySince = now;
    this.#outCount--;
  }
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new RangeError(`${name} must be positive, not ${value}`);
  return value;
}
