/**
 * Steady load across four server processes while one is killed with SIGKILL
 * and restarted, and another is rolled (SIGTERM: it drains, exits, and is
 * restarted). An idempotent method loses no call; a method that is not
 * idempotent never runs twice, and every failure the caller sees says
 * truthfully whether it may have run.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Probe } from "../fixture.ts";
import { drive, Fixture, instancesSeen, record, sleep, tally, type CallRecord, type Server } from "./harness.ts";

const RATE = 200; // calls per second, half of each method
const DURATION_MS = 8_000;
const MAX_IN_FLIGHT = 8;
/** Long enough that calls are in flight on the server when it is killed. */
const BEHAVIOUR = { delayMs: 10, jitterMs: 20 };

test("steady load through a kill -9 and a rolling restart: no idempotent call fails, no call runs twice", async (t) => {
  const fixture = new Fixture(t, "steady");
  const caller = await fixture.caller();
  const servers = await fixture.startAll("s", 4, { behaviour: BEHAVIOUR });
  await instancesSeen(caller, servers);
  const [crashed, rolled] = [servers[1]!, servers[2]!];
  // Replacements are loaded beforehand, as a supervisor would have them start in
  // milliseconds. The crashed one comes back at the same addresses; the rolled
  // one anywhere.
  const crashReplacement = await fixture.prepare({ name: crashed.name, listen: crashed.address, gossip: crashed.gossip, behaviour: BEHAVIOUR });
  const rollReplacement = await fixture.prepare({ name: rolled.name, behaviour: BEHAVIOUR });

  const client = caller.client(Probe, { timeout: 3_000 });
  // Attempts per instance, sampled from the balancer's figures: retries = attempts − calls.
  const attempts = new Map<string, number>();
  const sample = (): void => {
    for (const service of caller.stats().services) {
      for (const instance of service.instances) attempts.set(instance.nodeId, Math.max(attempts.get(instance.nodeId) ?? 0, instance.calls));
    }
  };
  const sampler = setInterval(sample, 20);
  t.after(() => clearInterval(sampler));

  const load = drive({
    ratePerSecond: RATE,
    count: (RATE * DURATION_MS) / 1_000,
    maxInFlight: MAX_IN_FLIGHT,
    onRecord: sample,
    call: (i) => {
      const key = `k${i}`;
      return i % 2 === 0 ? record(i, "who", key, () => client.who({ key })) : record(i, "apply", key, () => client.apply({ key }));
    },
  });
  const faults = (async () => {
    await sleep(2_000);
    const killedAt = performance.now();
    await crashed.kill("SIGKILL");
    const crashedBack = await crashReplacement.go();
    await sleep(2_000);
    const rolledAt = performance.now();
    const how = await rolled.kill("SIGTERM"); // drains, then exits by itself
    const rolledBack = await rollReplacement.go();
    return { crashedBack, rolledBack, killedAt, rolledAt, rollMs: performance.now() - rolledAt, how };
  })();
  const [records, { crashedBack, rolledBack, killedAt, rolledAt, rollMs, how }] = await Promise.all([load, faults]);
  clearInterval(sampler);
  sample();
  assert.equal(how, "code 0", "the rolled server drained and exited by itself");

  const executions = fixture.executions();
  const runs = (r: CallRecord): number => executions.get(`${r.method} ${r.key}`) ?? 0;
  const who = records.filter((r) => r.method === "who");
  const apply = records.filter((r) => r.method === "apply");
  const failures = records.filter((r) => !r.ok);
  const totalAttempts = [...attempts.values()].reduce((a, b) => a + b, 0);
  const whoRunTwice = who.filter((r) => runs(r) > 1).length;
  t.diagnostic(
    `${records.length} calls (${who.length} who, ${apply.length} apply); failures by code: ${JSON.stringify(tally(failures, (r) => `${r.method}:${r.code}:${r.unprocessed ? "unprocessed" : "may-have-run"}`))}; ` +
      `about ${totalAttempts - records.length} retries (${totalAttempts} attempts); ${whoRunTwice} who calls ran twice (retried after a lost connection); ` +
      `answers by node: ${JSON.stringify(tally(records.filter((r) => r.ok), (r) => r.node!))}; ` +
      `roll took ${Math.round(rollMs)} ms; kill at ${Math.round(killedAt - records[0]!.start)} ms, roll at ${Math.round(rolledAt - records[0]!.start)} ms`,
  );

  // The run was not trivially short: the load went through both faults.
  assert.equal(records.length, (RATE * DURATION_MS) / 1_000);
  assert.ok(records.at(-1)!.start > rolledAt + 1_000, "calls went on well after the roll");

  // Idempotent: every call answered, whatever happened to the instance it went to.
  assert.deepEqual(
    who.filter((r) => !r.ok).map((r) => `${r.key}: ${r.code} ${r.message}`),
    [],
    "no idempotent call failed",
  );

  // Not idempotent: never twice; a success ran exactly once; a failure is one
  // of "the instance went away" and tells the truth about whether it may have run.
  for (const r of apply) {
    assert.ok(runs(r) <= 1, `${r.key} ran ${runs(r)} times`);
    if (r.ok) {
      assert.equal(runs(r), 1, `${r.key} succeeded, so it ran once`);
      continue;
    }
    assert.ok(r.code === "UNAVAILABLE" || r.code === "DEADLINE_EXCEEDED", `${r.key} failed with ${r.code}: ${r.message}`);
    if (r.unprocessed) assert.equal(runs(r), 0, `${r.key} was reported unprocessed but ran: ${r.message}`);
  }
  // Only calls caught in flight by the kill may fail: a handful, not a share of the load.
  assert.ok(failures.length <= MAX_IN_FLIGHT, `${failures.length} failures`);
  for (const r of failures) assert.ok(r.end >= killedAt, `${r.key} failed before any fault: ${r.message}`);

  // Both replacements were found by look-up and served again.
  const [crashedCounts, rolledCounts] = await Promise.all([crashedBack.counts(), rolledBack.counts()]);
  assert.ok(crashedCounts.executions > 0, "the server restarted after kill -9 got calls again");
  assert.ok(rolledCounts.executions > 0, "the rolled server got calls again");
  const current: Server[] = [servers[0]!, crashedBack, rolledBack, servers[3]!];
  await instancesSeen(caller, current, 10_000);
});
