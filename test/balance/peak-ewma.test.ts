import assert from "node:assert/strict";
import { test } from "node:test";
import { PeakEwma } from "../../src/balance/peak-ewma.ts";

function near(actual: number, expected: number, tolerance = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected}`);
}

test("before any observation: the initial estimate; an unknown instance gets one call at a time", () => {
  const fresh = new PeakEwma();
  assert.equal(fresh.latency(0), 0);
  assert.equal(fresh.cost(0, 0), 0);
  // With a call already out and no latency known, it costs more than any real instance should.
  assert.ok(fresh.cost(0, 1) >= 10_000);
  assert.ok(fresh.cost(0, 2) > fresh.cost(0, 1));
  const seeded = new PeakEwma({ initialMs: 50 });
  assert.equal(seeded.latency(1e9), 50);
  assert.equal(seeded.cost(0, 3), 200);
});

test("the first observation sets the estimate; a higher one replaces it at once", () => {
  const ewma = new PeakEwma({ initialMs: 500 });
  ewma.observe(20, 1000);
  assert.equal(ewma.latency(1000), 20);
  ewma.observe(300, 1001);
  assert.equal(ewma.latency(1001), 300);
});

test("a lower latency blends in with weight 1 - exp(-elapsed / decay)", () => {
  const ewma = new PeakEwma({ decayMs: 10_000 });
  ewma.observe(100, 0);
  ewma.observe(10, 1000);
  const w = Math.exp(-0.1);
  near(ewma.latency(1000), 100 * w * w + 10 * (1 - w));
  assert.ok(ewma.latency(1000) < 100 && ewma.latency(1000) > 10);
  // Many fast answers bring it down to their level.
  for (let t = 2000; t <= 100_000; t += 1000) ewma.observe(10, t);
  near(ewma.latency(100_000), 10, 0.01);
});

test("an idle estimate fades toward zero, so an avoided instance is tried again", () => {
  const ewma = new PeakEwma({ decayMs: 10_000 });
  ewma.observe(100, 0);
  near(ewma.latency(10_000), 100 * Math.exp(-1));
  assert.ok(ewma.latency(60_000) < 1);
  // A clock that steps back does not raise it.
  assert.equal(ewma.latency(-5000), 100);
});

test("cost is the estimate times (outstanding + 1)", () => {
  const ewma = new PeakEwma();
  ewma.observe(40, 0);
  assert.equal(ewma.cost(0, 0), 40);
  assert.equal(ewma.cost(0, 4), 200);
});

test("NaN and infinite latencies are ignored; negative ones count as 0", () => {
  const ewma = new PeakEwma();
  ewma.observe(30, 0);
  ewma.observe(Number.NaN, 1);
  ewma.observe(Number.POSITIVE_INFINITY, 2);
  near(ewma.latency(0), 30);
  const other = new PeakEwma({ initialMs: 5 });
  other.observe(-3, 0);
  assert.equal(other.latency(0), 0);
});

test("options are checked", () => {
  assert.throws(() => new PeakEwma({ decayMs: 0 }), RangeError);
  assert.throws(() => new PeakEwma({ initialMs: -1 }), RangeError);
});
