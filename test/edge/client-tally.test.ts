// The edge's tally of its clients: distinct clients within the last minute,
// a bounded memory of them, and the calls placed and failed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CLIENT_WINDOW_MS, ClientTally } from "../../src/edge/client-tally.ts";

test("counts each client once within the window, and forgets those not seen for a minute", () => {
  const tally = new ClientTally();
  for (let i = 0; i < 50; i++) tally.seen(`ip:10.0.0.${i % 3}`, 1_000 + i * 10);
  tally.seen("caller:ada", 2_000);
  assert.equal(tally.reading(2_000).clients, 4);
  assert.equal(tally.reading(2_000).admitted, 51);
  // ada comes back later; the three addresses fall out of the window.
  tally.seen("caller:ada", 30_000);
  assert.equal(tally.reading(1_500 + CLIENT_WINDOW_MS + 1).clients, 1);
  assert.equal(tally.reading(30_001 + CLIENT_WINDOW_MS).clients, 0);
});

test("remembers at most 10 000 clients: a flood of addresses costs no more", () => {
  const tally = new ClientTally();
  for (let i = 0; i < 25_000; i++) tally.seen(`ip:${i}`, 1_000);
  assert.equal(tally.reading(1_000).clients, 10_000);
});

test("counts the calls it places and those that fail, thrown or rejected; refusals apart", async () => {
  const tally = new ClientTally();
  const ok = tally.counted(() => Promise.resolve(1));
  const rejected = tally.counted(() => Promise.reject(new Error("no")));
  const thrown = tally.counted(() => {
    throw new Error("bad input");
  });
  assert.equal(await ok({}, {}), 1);
  await assert.rejects(rejected({}, {}) as Promise<unknown>, /no/);
  await assert.rejects(async () => thrown({}, {}), /bad input/);
  tally.refused();
  const reading = tally.reading(0);
  assert.deepEqual([reading.calls, reading.failed, reading.refused], [3, 2, 1]);
});
