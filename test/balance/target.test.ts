import assert from "node:assert/strict";
import { test } from "node:test";
import { Target } from "../../src/balance/target.ts";
import { seededRandom } from "../../src/lookup/membership/index.ts";

function target(id: string): Target {
  return new Target({ id, name: id, address: `inproc://${id}`, tier: 2, suspect: false, invoke: () => Promise.resolve(id) });
}

/**
 * Calls to a fast (1 ms) and a slow (10 ms) instance, each answer delayed by
 * up to 8 ms more in this node's own event loop (a busy caller delays every
 * answer alike). Returns slow ÷ fast estimate after 2,000 calls each.
 */
function estimateRatio(reportServerTime: boolean): number {
  const random = seededRandom(11);
  const fast = target("fast");
  const slow = target("slow");
  let now = 0;
  for (let i = 0; i < 2_000; i++) {
    now += 1;
    for (const [each, own] of [[fast, 1], [slow, 10]] as const) {
      const stall = random() < 0.2 ? random() * 8 : random() * 0.3;
      each.begin();
      each.end(true, own + 0.2 + stall, now, reportServerTime ? own : undefined);
    }
  }
  return slow.latency.latency(now) / fast.latency.latency(now);
}

test("with the instances' own times, this node's stalls do not blur a 10× slower instance", () => {
  const withServerTime = estimateRatio(true);
  const measuredOnly = estimateRatio(false);
  assert.ok(withServerTime > 5, `estimates 10× apart in truth are ${withServerTime.toFixed(2)}× apart`);
  assert.ok(measuredOnly < withServerTime / 2, `measured here only, the peaks blur them to ${measuredOnly.toFixed(2)}×`);
});

test("answers one stall of this node held up, arriving together, do not raise the estimate", () => {
  const t = target("t");
  let now = 0;
  for (; now < 200; now += 1) {
    t.begin();
    t.end(true, 1.5, now, 1.2);
  }
  // This node's event loop stalled 20 ms: ten answers, each 1.2 ms at the instance, are read at once.
  for (let i = 0; i < 10; i++) {
    t.begin();
    t.end(true, 21.2 - i * 0.1, now, 1.2);
  }
  assert.ok(t.latency.latency(now) < 2, `estimate ${t.latency.latency(now)} ms after this node's stall`);
});

test("a failure costs 4× what the instance's successes showed, however many failures came before", () => {
  const t = target("t");
  for (let i = 0; i < 10; i++) {
    t.begin();
    t.end(true, 5, i, 4);
  }
  const healthy = t.latency.latency(10);
  for (let i = 0; i < 20; i++) {
    t.begin();
    t.end(false, 1, 10 + i);
  }
  const after = t.latency.latency(30);
  assert.ok(after >= 3.5 * healthy && after <= 4.5 * healthy, `estimate ${after} after 20 failures against ${healthy} healthy`);
  assert.equal(t.outstanding, 0);
  assert.equal(t.failures, 20);
});

test("a call that was not timed and a refusal for load change no estimate", () => {
  const t = target("t");
  t.begin();
  t.end(true, 3, 0);
  const before = t.latency.latency(1);
  t.begin();
  t.end(true, undefined, 1);
  t.begin();
  t.release();
  assert.equal(t.latency.latency(1), before);
  assert.equal(t.outstanding, 0);
});

test("a reported time above the measured one is ignored (clocks are not compared across nodes)", () => {
  const t = target("t");
  t.begin();
  t.end(true, 2, 0, 50);
  assert.equal(t.latency.latency(0), 2);
});
