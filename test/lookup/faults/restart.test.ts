/**
 * A member restarted under the same name: the new incarnation (a new id)
 * replaces the old one everywhere — the old id is gone from every view and
 * look-up, and never comes back.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { detectionBound, FAST_MEMBERSHIP_CONFIG } from "../../../src/lookup/membership/index.ts";
import { changesAbout, converge, describeView, Fixture, sleep, startCluster, waitFor, type Member } from "./harness.ts";

/** Whether `observer` knows `fresh` alive and neither lists nor looks up `old` as alive. */
async function replaced(observer: Member, old: Member, fresh: Member): Promise<boolean> {
  const view = await observer.members();
  const instances = await observer.lookup();
  return (
    view.some((m) => m.id === fresh.id && m.state === "alive") &&
    !view.some((m) => m.id === old.id && (m.state === "alive" || m.state === "suspect")) &&
    instances.some((i) => i.id === fresh.id) &&
    !instances.some((i) => i.id === old.id)
  );
}

async function restartCase(t: TestContext, fixture: Fixture, members: Member[], old: Member, how: "SIGKILL" | "SIGTERM"): Promise<Member> {
  const others = members.filter((m) => m !== old);
  // A crash is restarted at once, at the same addresses (a supervisor would); a
  // graceful stop leaves the ports to anyone.
  const sameAddresses = how === "SIGKILL" ? { gossip: old.gossip, listen: old.address } : {};
  const next = await fixture.prepare({ name: old.name, seeds: [members[0]!.gossip], ...sameAddresses });
  const stoppedAt = Date.now();
  await old.kill(how);
  const fresh = await next.go();
  const startedAt = Date.now();
  // Replacing by name needs no failure detection: it takes a join and its gossip.
  const limit = detectionBound(FAST_MEMBERSHIP_CONFIG, members.length) + 2_000;
  const took = await waitFor(
    `every member to replace ${old.name}'s old id with the new one`,
    async () => (await Promise.all(others.map((m) => replaced(m, old, fresh)))).every(Boolean),
    limit,
    { describe: async () => (await Promise.all(others.map(async (m) => `${m.name}: ${describeView(await m.members())}`))).join("; ") },
  );
  // Stale news of the old id (its own gossip still in flight, suspicions and
  // deaths of it) must not bring it back: watch a while longer.
  await sleep(1_500);
  for (const observer of others) {
    assert.ok(await replaced(observer, old, fresh), `${observer.name} still has only the new id`);
    const view = await observer.members();
    const oldEntry = view.find((m) => m.id === old.id);
    assert.ok(!oldEntry || oldEntry.state === "left" || oldEntry.state === "dead", `${observer.name} lists the old id as gone: ${describeView(view)}`);
    const seen = changesAbout(await observer.changes(), old.id, stoppedAt);
    const back = seen.filter((c) => c.type === "added" || (c.type === "updated" && c.state === "alive"));
    assert.deepEqual(back, [], `${observer.name} never sees the old id come back`);
    assert.equal(view.filter((m) => m.name === old.name && m.state === "alive").length, 1, `${observer.name} has one live member named ${old.name}`);
  }
  t.diagnostic(`${how} then restart: every member had only the new id ${took} ms after the new process was ready (${startedAt - stoppedAt} ms to restart)`);
  return fresh;
}

// One cluster for both cases (process start-up is the slow part of these tests).
test("restart under the same name", async (t) => {
  const fixture = new Fixture(t, "restart");
  const members = await startCluster(fixture, "restart", 4);
  let fresh: Member | undefined;
  await t.test("after kill -9, at the same addresses: the new id replaces the old everywhere", async (t) => {
    fresh = await restartCase(t, fixture, members, members[2]!, "SIGKILL");
  });
  const current = members.map((m) => (m === members[2] && fresh ? fresh : m));
  await converge(current, 5_000);
  await t.test("after a graceful stop: the old id left, the new id replaces it everywhere", (t) =>
    restartCase(t, fixture, current, current[1]!, "SIGTERM").then(() => {}),
  );
});
