/**
 * How late a CALL arrives, from the sender's clock. A CALL carries when it
 * was sent, on the sender's monotonic clock; the receiver reads it on its own.
 * The two clocks have different origins, so one difference says nothing, but
 * the quickest of a connection's recent CALLs sets a baseline (its origin
 * offset plus the shortest transit): a CALL that took longer than that waited
 * somewhere — a partition, retransmissions, a stalled process on either end —
 * and its deadline, which the caller counted from the send, is that much
 * nearer. A CALL that waited out its whole timeout is never started, even
 * when its CANCEL trails it in a later TCP segment after a heal.
 *
 * The baseline is the least transit of two buckets of 10 s of traffic, so it
 * follows the clocks' drift; a bucket turns only when a CALL arrives, so the
 * first CALLs after a partition are measured against the quick ones before
 * it. What drift could add since the baseline was seen (100 ppm, more than a
 * crystal's tolerance) is never counted as lateness.
 *
 * @module
 */

/** The sender's clock for the CALL's `sent` field: whole ms since this process started, monotonic. */
export function sentClock(): number {
  return Math.round(performance.now());
}

const BUCKET_MS = 10_000;
/** The most two clocks may drift apart, as a share of the time since the baseline was seen. */
const MAX_DRIFT = 1e-4;
/** Below this, lateness is the rounding of two clocks to whole ms, not waiting (ms). */
const NOISE_MS = 2;

/** One connection's baseline. */
export class ArrivalLateness {
  #previousMin = Infinity;
  #previousStart = 0;
  #currentMin = Infinity;
  #currentStart = -Infinity;

  /**
   * How many ms later than the connection's quickest recent CALLs a CALL sent
   * at `sent` (the sender's clock) arrives at `now` (this process's
   * {@link sentClock}); 0 when on time.
   */
  of(sent: number, now: number): number {
    const transit = now - sent;
    if (now - this.#currentStart >= BUCKET_MS) {
      this.#previousMin = this.#currentMin;
      this.#previousStart = this.#currentStart;
      this.#currentMin = Infinity;
      this.#currentStart = now;
    }
    if (transit < this.#currentMin) this.#currentMin = transit;
    const fromPrevious = this.#previousMin < this.#currentMin;
    const base = fromPrevious ? this.#previousMin : this.#currentMin;
    const drift = (now - (fromPrevious ? this.#previousStart : this.#currentStart)) * MAX_DRIFT;
    const late = transit - base - drift;
    return late < NOISE_MS ? 0 : late;
  }
}
