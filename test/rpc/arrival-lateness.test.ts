/**
 * How late a CALL arrives, against the quickest of its connection's recent
 * CALLs: the clocks' origins cancel out, a CALL held up by a partition is
 * found late by as long as it waited, the baseline follows drift, and drift is
 * never taken for lateness.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ArrivalLateness, sentClock } from "../../src/rpc/arrival-lateness.ts";

/** The sender's clock starts 123 456 ms away from the receiver's: only differences count. */
const OFFSET = 123_456;

test("on time, whatever the clocks' origins; a CALL that waited 1 s in a partition is 1 s late", () => {
  const lateness = new ArrivalLateness();
  // Steady traffic: 0.3–0.9 ms of transit.
  for (let now = 0; now < 5_000; now += 20) assert.equal(lateness.of(now - OFFSET, now + 0.3 + (now % 7) / 10), 0);
  // Sent at 5 000, read at 6 000 after the heal; and the CALL sent just after it, read with it.
  assert.ok(Math.abs(lateness.of(5_000 - OFFSET, 6_000) - 1_000) < 2);
  assert.ok(Math.abs(lateness.of(5_020 - OFFSET, 6_000.5) - 980) < 2);
  // Fresh CALLs after it are on time again.
  assert.equal(lateness.of(6_010 - OFFSET, 6_010.4), 0);
});

test("the first CALLs after a long silence are measured against the quick ones before it", () => {
  const lateness = new ArrivalLateness();
  for (let now = 0; now < 3_000; now += 50) lateness.of(now, now + 1);
  // 20 s of nothing (a bucket's time and more), then a CALL sent at 3 000 arrives at 23 000.
  const late = lateness.of(3_000, 23_000);
  assert.ok(late > 19_990 && late <= 20_000, `found ${late} ms late`);
});

test("the baseline follows the clocks' drift, and drift is never lateness", () => {
  const lateness = new ArrivalLateness();
  // The receiver's clock runs 50 ppm fast: transit grows by 0.05 ms per second, 6 ms over two minutes.
  for (let now = 0; now <= 120_000; now += 10) assert.equal(lateness.of(now, now * (1 + 50e-6) + 0.5), 0, `at ${now} ms`);
  // An idle hour on that connection, then a CALL: 180 ms of drift, within the allowance.
  assert.equal(lateness.of(3_720_000, 3_720_000 * (1 + 50e-6) + 0.5), 0);
});

test("the sender's clock is whole ms and never goes back", () => {
  const first = sentClock();
  let last = first;
  for (let i = 0; i < 10_000; i++) {
    const now = sentClock();
    assert.ok(Number.isInteger(now) && now >= last);
    last = now;
  }
});
