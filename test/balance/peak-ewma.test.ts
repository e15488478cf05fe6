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

test("a lower latency blends in with weight 1 - exp(-elapsed / decay) when answers are seconds apart", () => {
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

test("a busy instance forgets a peak within tens of its answers, not over decayMs", () => {
  const ewma = new PeakEwma({ decayMs: 10_000 });
  let now = 0;
  for (; now < 100; now += 0.5) ewma.observe(1, now);
  ewma.observe(20, now);
  assert.equal(ewma.latency(now), 20);
  const peakAt = now;
  // 80 fast answers in 40 ms: weighted by time over 10 s alone, they would leave it near 20 ms.
  for (now += 0.5; now <= peakAt + 40; now += 0.5) ewma.observe(1, now);
  assert.ok(ewma.latency(now) < 2, `estimate ${ewma.latency(now)} ms 40 ms after the peak`);
});

test("a stall's peak is forgiven within a few times its length; an instance slow every time stays avoided", () => {
  const fast = new PeakEwma({ decayMs: 10_000 });
  const slow = new PeakEwma({ decayMs: 10_000 });
  for (let t = 0; t < 500; t += 1) fast.observe(1, t);
  for (let t = 0; t < 500; t += 10) slow.observe(10, t);
  // The fast instance stalled: ten calls it held answer together, 20 ms late.
  for (let i = 0; i < 10; i++) fast.observe(20, 500);
  assert.ok(fast.latency(500) > slow.latency(500), "avoided at once");
  assert.ok(fast.latency(560) < slow.latency(560) / 2, `${fast.latency(560)} ms three stall lengths later, against ${slow.latency(560)} ms`);
  // Answers that arrive together are one piece of news: the usual latency barely moved.
  assert.ok(fast.latency(700) < 3, `${fast.latency(700)} ms long after the stall`);
  // The slow instance's usual latency fades only over decayMs.
  near(slow.latency(5_600), slow.latency(600) * Math.exp(-0.5), 1e-3);
  assert.ok(slow.latency(600) > 9.5);
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
  assert.throws(() => new PeakEwma({ decayCalls: 0 }), RangeError);
});
