/**
 * kill -9 of a member: every other member marks it dead, and calls through
 * `node.client()` stop going to it, within the documented detection bound.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { allowedDetection, changesAbout, converge, describeView, Fixture, sleep, waitFor, type CallResult } from "./harness.ts";

test("kill -9: every member marks it dead and calls stop going to it within the detection bound", async (t) => {
  const fixture = new Fixture(t, "crash");
  const first = await fixture.start({ name: "calc-0" });
  const rest = await Promise.all([
    fixture.start({ name: "calc-1", seeds: [first.gossip] }),
    fixture.start({ name: "calc-2", seeds: [first.gossip] }),
    fixture.start({ name: "caller", seeds: [first.gossip], serveCalculator: false }),
  ]);
  const caller = rest[2]!;
  const servers = [first, rest[0]!, rest[1]!];
  const all = [...servers, caller];
  await converge(all, 15_000);
  const { bound, allowed } = allowedDetection(all.length);

  // Before: every call succeeds, and every server serves some. Calls made in
  // parallel before any connection exists go to every instance the look-up lists,
  // so the caller holds a connection to each.
  await waitFor("the caller to see three calculators", async () => (await caller.lookup()).length === 3, 5_000);
  const warmup = await caller.request<CallResult[]>({ cmd: "call", count: 9, intervalMs: 0, timeoutMs: 3_000, parallel: true });
  assert.deepEqual(
    warmup.filter((r) => !r.ok),
    [],
    "every call succeeds before the crash",
  );
  const served = await Promise.all(servers.map((s) => s.request<number>({ cmd: "served" })));
  t.diagnostic(`calls served before the crash: ${servers.map((s, i) => `${s.name}=${served[i]}`).join(" ")}`);
  assert.ok(served.every((count) => count > 0), "every server served calls before the crash");
  const victim = servers[1]!;
  const survivors = all.filter((m) => m !== victim);

  await caller.request({ cmd: "startCalls", intervalMs: 10, timeoutMs: 2_000 });
  await sleep(200);
  const killedAt = Date.now();
  await victim.kill("SIGKILL");

  await waitFor(
    "every survivor to mark the killed member dead",
    async () => (await Promise.all(survivors.map((m) => m.members()))).every((view) => view.find((v) => v.id === victim.id)?.state === "dead"),
    allowed,
    { describe: async () => (await Promise.all(survivors.map(async (m) => `${m.name}: ${describeView(await m.members())}`))).join("; ") },
  );
  // Keep calling a little after everyone knows, to see that no call goes to it any more.
  await sleep(300);
  const results = await caller.request<CallResult[]>({ cmd: "stopCalls" });

  const detections: Record<string, number> = {};
  for (const survivor of survivors) {
    const removed = changesAbout(await survivor.changes(), victim.id, killedAt).find((c) => c.type === "removed");
    assert.ok(removed, `${survivor.name} saw the killed member removed`);
    detections[survivor.name] = removed.at - killedAt;
  }
  const callerSaw = killedAt + detections.caller!;
  const failures = results.filter((r) => !r.ok);
  const lastFailure = failures.length > 0 ? Math.max(...failures.map((f) => f.end)) - killedAt : 0;
  const afterDetection = results.filter((r) => r.at > callerSaw);
  t.diagnostic(
    `n=${all.length} detection bound ${bound} ms (allowed ${allowed} ms); detected after ${JSON.stringify(detections)} ms; ` +
      `${results.length} calls, ${failures.length} failed, the last ending ${lastFailure} ms after the kill; ${afterDetection.length} calls after the caller saw it dead`,
  );

  for (const [name, ms] of Object.entries(detections)) {
    assert.ok(ms <= allowed, `${name} saw the crash after ${ms} ms, over the bound ${bound} ms + margin (${allowed} ms)`);
  }
  assert.ok(lastFailure <= allowed, `calls failed until ${lastFailure} ms after the kill, over ${allowed} ms`);
  assert.deepEqual(
    afterDetection.filter((r) => !r.ok),
    [],
    "no call fails once the caller saw the member dead (none goes to it)",
  );
  assert.ok(afterDetection.length > 0, "calls went on after the detection");
  for (const failure of failures) assert.equal(failure.code, "UNAVAILABLE", `a call to the dead member fails as UNAVAILABLE: ${failure.message}`);
  const instances = await caller.lookup();
  assert.deepEqual(
    instances.map((i) => i.id).sort(),
    servers
      .filter((s) => s !== victim)
      .map((s) => s.id)
      .sort(),
    "the caller's look-up lists only the surviving servers",
  );
});
