/**
 * A service whose every instance answers UNAVAILABLE to everything: the
 * caller's retries stay within its retry budget (20 % of calls plus a small
 * floor), however many retries each call would be allowed — no retry storm on
 * a service that is down.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Probe } from "../fixture.ts";
import { drive, Fixture, instancesSeen, record, tally } from "./harness.ts";

const RATE = 100;
const CALLS = 300;
const RATIO = 0.2;
const MIN_PER_SECOND = 5;
const WINDOW_MS = 10_000;
/** The budget's floor: retries allowed over a window whatever the calls. */
const FLOOR = MIN_PER_SECOND * (WINDOW_MS / 1_000);

test("a service down everywhere gets at most 20 % more calls (plus the floor) from retries", async (t) => {
  const fixture = new Fixture(t, "budget");
  const caller = await fixture.caller({
    balance: {
      retryBudget: { ratio: RATIO, minPerSecond: MIN_PER_SECOND, windowMs: WINDOW_MS },
      // Keep every instance in rotation, so that each failed call always has another instance to retry on.
      outliers: { maxEjectedShare: 0 },
    },
  });
  const servers = await fixture.startAll("s", 3, { behaviour: { delayMs: 1, jitterMs: 0, failWith: "UNAVAILABLE" } });
  await instancesSeen(caller, servers);
  // Two retries per call: without a budget, up to three executions per call.
  const client = caller.client(Probe, { timeout: 5_000, balance: { retries: 2 } });

  const started = performance.now();
  const records = await drive({
    ratePerSecond: RATE,
    count: CALLS,
    maxInFlight: 8,
    call: (i) => record(i, "who", `k${i}`, () => client.who({ key: `k${i}` })),
  });
  const elapsed = performance.now() - started;
  const counts = await Promise.all(servers.map((s) => s.counts()));
  const executions = counts.reduce((sum, c) => sum + c.executions, 0);
  const journal = [...fixture.executions().values()].reduce((a, b) => a + b, 0);
  const retries = executions - CALLS;
  const bound = RATIO * CALLS + FLOOR;
  const triedSum = records.reduce((sum, r) => sum + (r.tried ?? 1), 0);
  t.diagnostic(
    `${CALLS} calls in ${Math.round(elapsed)} ms: ${JSON.stringify(tally(records, (r) => (r.ok ? "ok" : `${r.code}:tried ${r.tried}`)))}; ` +
      `${executions} executions (${counts.map((c) => c.executions).join(" + ")}), so ${retries} retries; budget ${bound} (${RATIO * 100} % of ${CALLS} + ${FLOOR}); without one: up to ${2 * CALLS}`,
  );

  // The whole run fits in one budget window, so the bound holds over all of it.
  assert.ok(elapsed < WINDOW_MS, `the run took ${Math.round(elapsed)} ms`);
  assert.equal(journal, executions, "journals and counters agree");
  for (const r of records) {
    assert.equal(r.ok, false, `${r.key} succeeded against a service that is down`);
    assert.equal(r.code, "UNAVAILABLE", `${r.key}: ${r.message}`);
  }
  // Each attempt the caller reports reached a server, and each execution was one such attempt.
  assert.equal(triedSum, executions, "attempts reported in errors = executions on the servers");
  assert.ok(retries <= bound, `${retries} retries exceed the budget of ${bound}`);
  // Retries did happen while the budget lasted: the bound is the budget, not an absence of retries.
  assert.ok(retries >= FLOOR, `only ${retries} retries`);
  // Once the budget was spent, calls failed after one attempt.
  assert.ok(records.slice(-CALLS / 3).filter((r) => r.tried === 1).length > CALLS / 6, "late calls were not retried");
  assert.ok(
    records.some((r) => r.message?.includes("retry budget spent")),
    "an error says the retry budget stopped it",
  );
});
