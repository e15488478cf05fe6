import assert from "node:assert/strict";
import { test } from "node:test";
import { WindowedRate, WindowedSum } from "../../src/balance/window.ts";

test("a value counts for the window, then drops out slice by slice", () => {
  const sum = new WindowedSum({ windowMs: 10_000, slices: 10 });
  sum.add(1, 0);
  sum.add(2, 4_500);
  sum.add(-0.5, 9_999);
  assert.equal(sum.sum(9_999), 2.5);
  // The slice [0, 1000) leaves at 10 000, the one [4000, 5000) at 14 000.
  assert.equal(sum.sum(10_000), 1.5);
  assert.equal(sum.sum(14_000), -0.5);
  assert.equal(sum.sum(20_000), 0);
});

test("a long gap clears everything; a clock that steps back adds to the newest slice", () => {
  const sum = new WindowedSum({ windowMs: 1000, slices: 4 });
  sum.add(5, 100);
  sum.add(1, 1_000_000);
  assert.equal(sum.sum(1_000_000), 1);
  sum.add(1, 0);
  assert.equal(sum.sum(1_000_000), 2);
  sum.clear();
  assert.equal(sum.sum(1_000_000), 0);
  const early = new WindowedSum({ windowMs: 1000 });
  early.add(3, -250);
  assert.equal(early.sum(-250), 3);
});

test("the error rate is failures over calls within the window", () => {
  const rate = new WindowedRate({ windowMs: 10_000 });
  assert.equal(rate.rate(0), 0);
  rate.record(false, 0);
  rate.record(false, 100);
  rate.record(false, 200);
  rate.record(true, 5_000);
  assert.equal(rate.calls(5_000), 4);
  assert.equal(rate.rate(5_000), 0.75);
  // The three failures leave with their slice.
  assert.equal(rate.rate(10_000), 0);
  assert.equal(rate.calls(10_000), 1);
  assert.equal(rate.calls(15_000), 0);
});

test("below minCalls the rate reads 0", () => {
  const rate = new WindowedRate({ minCalls: 3 });
  rate.record(false, 0);
  rate.record(false, 0);
  assert.equal(rate.rate(0), 0);
  rate.record(true, 0);
  assert.equal(rate.rate(0), 2 / 3);
});

test("options are checked", () => {
  assert.throws(() => new WindowedSum({ windowMs: 0 }), RangeError);
  assert.throws(() => new WindowedSum({ slices: 0 }), RangeError);
  assert.throws(() => new WindowedSum({ slices: 2.5 }), RangeError);
});
