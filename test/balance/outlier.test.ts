import assert from "node:assert/strict";
import { test } from "node:test";
import { OutlierDetector } from "../../src/balance/outlier.ts";

function fail(detector: OutlierDetector, id: string, times: number, now: number): void {
  for (let i = 0; i < times; i++) detector.record(id, false, now);
}

function members(detector: OutlierDetector, count: number): string[] {
  const ids = Array.from({ length: count }, (_, i) => `n${i}`);
  detector.setMembers(ids);
  return ids;
}

test("five failures in a row eject; a success in between starts the count again", () => {
  const detector = new OutlierDetector({ errorRate: 2 }); // the rate rule off
  members(detector, 4);
  fail(detector, "n0", 4, 0);
  detector.record("n0", true, 0);
  fail(detector, "n0", 4, 0);
  assert.equal(detector.state("n0", 0), "healthy");
  assert.equal(detector.allow("n0", 0), true);
  detector.record("n0", false, 0);
  assert.equal(detector.state("n0", 0), "ejected");
  assert.equal(detector.allow("n0", 0), false);
});

test("the error-rate rule needs minCalls calls in the window", () => {
  const detector = new OutlierDetector({ consecutiveFailures: 100 });
  members(detector, 4);
  // Nine calls, five failed, never two in a row: too few calls to judge.
  for (let i = 0; i < 9; i++) detector.record("n1", i % 2 === 1, i);
  assert.equal(detector.state("n1", 9), "healthy");
  // The tenth is a failure: 6 of 10 >= 0.5.
  detector.record("n1", false, 9);
  assert.equal(detector.state("n1", 9), "ejected");

  // The same failures spread beyond the window never add up.
  for (let i = 0; i < 40; i++) detector.record("n2", i % 2 === 1, i * 3000);
  assert.equal(detector.state("n2", 120_000), "healthy");
});

test("after the ejection, one trial call at a time; a success readmits", () => {
  const detector = new OutlierDetector({ baseEjectionMs: 1000 });
  members(detector, 4);
  fail(detector, "n0", 5, 0);
  assert.equal(detector.state("n0", 999), "ejected");
  assert.equal(detector.allow("n0", 999), false);
  assert.equal(detector.state("n0", 1000), "probing");
  assert.equal(detector.allow("n0", 1000), true);
  assert.equal(detector.allow("n0", 1001), false, "a second trial while the first is out");
  detector.record("n0", true, 1050);
  assert.equal(detector.state("n0", 1050), "healthy");
  assert.equal(detector.allow("n0", 1050), true);
  assert.equal(detector.allow("n0", 1050), true);
  // Its old failures are forgotten: one more failure does not eject it again.
  detector.record("n0", false, 1100);
  assert.equal(detector.state("n0", 1100), "healthy");
});

test("a failed trial ejects again for twice as long, up to maxEjectionMs", () => {
  const detector = new OutlierDetector({ baseEjectionMs: 1000, maxEjectionMs: 5000 });
  members(detector, 4);
  fail(detector, "n0", 5, 0);
  let now = 0;
  const lengths: number[] = [];
  for (let round = 0; round < 5; round++) {
    const until = detector.snapshot(now).get("n0")!.ejectedUntil!;
    lengths.push(until - now);
    now = until;
    assert.equal(detector.allow("n0", now), true);
    detector.record("n0", false, now);
  }
  assert.deepEqual(lengths, [1000, 2000, 4000, 5000, 5000]);
  assert.equal(detector.snapshot(now).get("n0")!.ejections, 6);
});

test("a whole window healthy resets the backoff; a shorter spell does not", () => {
  const detector = new OutlierDetector({ baseEjectionMs: 1000, windowMs: 10_000 });
  members(detector, 4);
  fail(detector, "n0", 5, 0);
  assert.equal(detector.allow("n0", 1000), true);
  detector.record("n0", false, 1000); // out for 2000 more
  assert.equal(detector.allow("n0", 3000), true);
  detector.record("n0", true, 3000);
  // Fails again soon after: the next ejection is 4000.
  fail(detector, "n0", 5, 5000);
  assert.equal(detector.snapshot(5000).get("n0")!.ejectedUntil, 9000);
  assert.equal(detector.allow("n0", 9000), true);
  detector.record("n0", true, 9000);
  // Healthy for a whole window: back to the base length.
  fail(detector, "n0", 5, 19_000);
  assert.equal(detector.snapshot(19_000).get("n0")!.ejectedUntil, 20_000);
});

test("no more than maxEjectedShare of the members are out at once", () => {
  const detector = new OutlierDetector({ maxEjectedShare: 0.5 });
  members(detector, 4);
  fail(detector, "n0", 5, 0);
  fail(detector, "n1", 5, 0);
  fail(detector, "n2", 50, 0);
  assert.equal(detector.state("n0", 0), "ejected");
  assert.equal(detector.state("n1", 0), "ejected");
  assert.equal(detector.state("n2", 0), "healthy");
  assert.equal(detector.snapshot(0).get("n2")!.consecutiveFailures, 50);
  // A probing instance still counts as out; once n0 is readmitted, n2 may go.
  assert.equal(detector.allow("n0", 1000), true);
  fail(detector, "n2", 1, 1000);
  assert.equal(detector.state("n2", 1000), "healthy");
  detector.record("n0", true, 1000);
  fail(detector, "n2", 1, 1000);
  assert.equal(detector.state("n2", 1000), "ejected");
});

test("at least one member always stays in", () => {
  const single = new OutlierDetector({ maxEjectedShare: 1 });
  members(single, 1);
  fail(single, "n0", 20, 0);
  assert.equal(single.state("n0", 0), "healthy");
  const pair = new OutlierDetector({ maxEjectedShare: 1 });
  members(pair, 2);
  fail(pair, "n0", 5, 0);
  fail(pair, "n1", 5, 0);
  assert.deepEqual([pair.state("n0", 0), pair.state("n1", 0)], ["ejected", "healthy"]);
});

test("setMembers forgets the gone and ignores their late answers; a returning id starts afresh", () => {
  const detector = new OutlierDetector();
  members(detector, 4);
  fail(detector, "n0", 5, 0);
  fail(detector, "n1", 5, 0);
  detector.setMembers(["n1", "n2", "n3", "n4"]);
  assert.deepEqual([...detector.snapshot(0).keys()], ["n1", "n2", "n3", "n4"]);
  assert.equal(detector.state("n1", 0), "ejected", "a member that stays keeps its standing");
  fail(detector, "n0", 5, 0);
  assert.equal(detector.snapshot(0).has("n0"), false);
  // n0's slot among the ejected is free: a second instance may go.
  fail(detector, "n2", 5, 0);
  assert.equal(detector.state("n2", 0), "ejected");
  detector.setMembers(["n0", "n1", "n2", "n3", "n4"]);
  assert.deepEqual(detector.snapshot(0).get("n0"), {
    state: "healthy",
    consecutiveFailures: 0,
    errorRate: 0,
    calls: 0,
    ejections: 0,
  });
});

test("before setMembers, any id recorded is a member", () => {
  const detector = new OutlierDetector();
  detector.record("a", true, 0);
  detector.record("b", true, 0);
  fail(detector, "c", 5, 0);
  assert.equal(detector.state("c", 0), "ejected");
  assert.equal(detector.snapshot(0).size, 3);
  assert.equal(detector.state("never-seen", 0), "healthy");
  assert.equal(detector.allow("never-seen", 0), true);
});

test("answers that arrive while ejected do not count; an unanswered trial expires", () => {
  const detector = new OutlierDetector({ probeTimeoutMs: 5000 });
  members(detector, 4);
  fail(detector, "n0", 5, 0);
  // Late answers from calls sent before the ejection: ignored, nothing extended.
  fail(detector, "n0", 10, 500);
  detector.record("n0", true, 1500); // after the ejection, but no trial was let through
  assert.equal(detector.state("n0", 1500), "probing");
  assert.equal(detector.snapshot(1500).get("n0")!.ejections, 1);
  assert.equal(detector.allow("n0", 1500), true);
  assert.equal(detector.allow("n0", 6499), false);
  assert.equal(detector.allow("n0", 6500), true, "the first trial never answered");
});

test("snapshot reports each member's standing", () => {
  const detector = new OutlierDetector({ consecutiveFailures: 3, minCalls: 100 });
  members(detector, 2);
  detector.record("n0", true, 0);
  fail(detector, "n0", 3, 0);
  detector.record("n1", true, 0);
  const snapshot = detector.snapshot(10);
  assert.deepEqual(snapshot.get("n0"), {
    state: "ejected",
    consecutiveFailures: 3,
    errorRate: 0.75,
    calls: 4,
    ejectedUntil: 1000,
    ejections: 1,
  });
  assert.equal(snapshot.get("n1")!.state, "healthy");
});

test("options are checked", () => {
  assert.throws(() => new OutlierDetector({ consecutiveFailures: 0 }), RangeError);
  assert.throws(() => new OutlierDetector({ maxEjectedShare: 1.5 }), RangeError);
  assert.throws(() => new OutlierDetector({ windowMs: Number.NaN }), RangeError);
});
