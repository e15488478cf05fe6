import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "../../src/balance/backoff.ts";
import { seededRandom } from "../../src/lookup/membership/index.ts";

const fixed = (value: number) => () => value;

test("the first retry waits up to baseMs", () => {
  assert.equal(backoffDelay(1, { baseMs: 10 }, fixed(0)), 0);
  assert.equal(backoffDelay(1, { baseMs: 10 }, fixed(0.5)), 5);
  const random = seededRandom(1);
  for (let i = 0; i < 1000; i++) {
    const delay = backoffDelay(1, { baseMs: 10 }, random);
    assert.ok(delay >= 0 && delay < 10, `delay ${delay}`);
  }
});

test("the ceiling doubles per attempt up to maxMs", () => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((attempt) => backoffDelay(attempt, { baseMs: 10, maxMs: 1000 }, fixed(0.5)));
  assert.deepEqual(delays, [5, 10, 20, 40, 80, 160, 320, 500, 500]);
  assert.equal(backoffDelay(10_000, {}, fixed(0.5)), 500);
});

test("the delay is jittered over the whole range below the ceiling", () => {
  const random = seededRandom(7);
  let sum = 0;
  let low = 0;
  for (let i = 0; i < 10_000; i++) {
    const delay = backoffDelay(3, { baseMs: 10 }, random);
    sum += delay;
    if (delay < 10) low++;
  }
  // Uniform on [0, 40): mean 20, a quarter below 10.
  assert.ok(Math.abs(sum / 10_000 - 20) < 1, `mean ${sum / 10_000}`);
  assert.ok(Math.abs(low / 10_000 - 0.25) < 0.03, `share below 10: ${low / 10_000}`);
});

test("never negative, NaN or above maxMs, whatever the attempt or the random source", () => {
  const attempts = [0, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 1e9, 2.7];
  const draws = [Number.NaN, -1, 0, 0.999, 1, 2, Number.POSITIVE_INFINITY];
  for (const attempt of attempts) {
    for (const draw of draws) {
      for (const options of [{}, { baseMs: 0 }, { baseMs: 50, maxMs: 20 }]) {
        const delay = backoffDelay(attempt, options, fixed(draw));
        const max = Math.min(options.maxMs ?? 1000, options.baseMs === 0 ? 0 : Infinity);
        assert.ok(Number.isFinite(delay) && delay >= 0 && delay <= max, `attempt ${attempt}, draw ${draw}: ${delay}`);
      }
    }
  }
  assert.equal(backoffDelay(Number.NaN, { baseMs: 10 }, fixed(0.5)), 5, "NaN counts as the first attempt");
});

test("options are checked", () => {
  assert.throws(() => backoffDelay(1, { baseMs: -1 }), RangeError);
  assert.throws(() => backoffDelay(1, { maxMs: Number.NaN }), RangeError);
});
