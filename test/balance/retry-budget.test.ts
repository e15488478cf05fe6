import assert from "node:assert/strict";
import { test } from "node:test";
import { RetryBudget } from "../../src/balance/retry-budget.ts";

function drain(budget: RetryBudget): number {
  let retries = 0;
  while (budget.tryRetry()) retries++;
  return retries;
}

test("1000 calls allow 20 % retries plus the floor, not one more", () => {
  let now = 0;
  const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 10, windowMs: 10_000, now: () => now });
  for (let i = 0; i < 1000; i++) {
    budget.recordCall();
    now += 5;
  }
  // 200 earned by the calls, 10/s × 10 s of floor.
  assert.equal(budget.available, 300);
  assert.equal(drain(budget), 300);
  assert.equal(budget.available, 0);
  assert.equal(budget.tryRetry(), false);
});

test("without a floor, retries are exactly the ratio of calls, even for fractions", () => {
  const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, now: () => 0 });
  for (let i = 0; i < 4; i++) budget.recordCall();
  assert.equal(budget.tryRetry(), false, "4 × 0.2 is less than one retry");
  budget.recordCall();
  assert.equal(budget.tryRetry(), true, "5 × 0.2 is exactly one");
  assert.equal(budget.tryRetry(), false);
});

test("deposits expire after the window", () => {
  let now = 0;
  const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, windowMs: 10_000, now: () => now });
  for (let i = 0; i < 1000; i++) budget.recordCall();
  assert.equal(budget.available, 500);
  now = 10_000;
  assert.equal(budget.available, 0);
  assert.equal(budget.tryRetry(), false);
});

test("spent retries count against the budget only for the window", () => {
  let now = 0;
  const budget = new RetryBudget({ ratio: 0, minPerSecond: 10, windowMs: 10_000, now: () => now });
  assert.equal(drain(budget), 100);
  now = 9_999;
  assert.equal(budget.tryRetry(), false);
  now = 10_000;
  assert.equal(drain(budget), 100);
});

test("the floor alone allows minPerSecond retries per second over time", () => {
  let now = 0;
  const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 10, windowMs: 10_000, now: () => now });
  let retries = 0;
  // A client that makes no first attempts and retries as fast as it may, for 60 s.
  for (; now < 60_000; now += 10) if (budget.tryRetry()) retries++;
  assert.equal(retries, 600);
});

test("a zero ratio and floor allow no retries; options are checked", () => {
  const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, now: () => 0 });
  budget.recordCall();
  assert.equal(budget.tryRetry(), false);
  assert.throws(() => new RetryBudget({ ratio: -0.1 }), RangeError);
  assert.throws(() => new RetryBudget({ minPerSecond: Number.NaN }), RangeError);
  assert.throws(() => new RetryBudget({ windowMs: 0 }), RangeError);
});
