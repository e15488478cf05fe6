import assert from "node:assert/strict";
import { test } from "node:test";
import { DeadlineQueue } from "../../src/rpc/deadline-queue.ts";

function item(log: string[], name: string) {
  const entry = {
    settled: false,
    expire() {
      log.push(name);
      entry.settled = true;
    },
  };
  return entry;
}

test("deadlines expire in deadline order, whatever order they were added in", async () => {
  const queue = new DeadlineQueue();
  const log: string[] = [];
  const now = Date.now();
  const items = { late: item(log, "late"), early: item(log, "early"), middle: item(log, "middle") };
  queue.add(now + 60, items.late);
  queue.add(now + 10, items.early);
  queue.add(now + 30, items.middle);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.deepEqual(log, ["early", "middle", "late"]);
});

test("a settled entry never expires, and the queue keeps only what is live", async () => {
  const queue = new DeadlineQueue();
  const log: string[] = [];
  const now = Date.now();
  const slow = item(log, "slow");
  queue.add(now + 50, slow);
  // Thousands of calls that end quickly behind one slow call must not pile up.
  for (let i = 0; i < 5000; i++) {
    const quick = item(log, `quick-${i}`);
    queue.add(now + 60, quick);
    quick.settled = true;
    queue.settled();
  }
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.deepEqual(log, ["slow"]);
});
