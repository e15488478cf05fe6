/**
 * Slow but alive is not dead: a member stopped (SIGSTOP) for less than the
 * suspicion timeout, and a member starved of CPU, make no one declare anyone
 * dead (SWIM's suspicion and refutation; Lifeguard's local health).
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { FAST_MEMBERSHIP_CONFIG, suspicionBounds } from "../../../src/lookup/membership/index.ts";
import { converge, Fixture, sleep, startCluster, type Member, type SeenChange } from "./harness.ts";

/** Every change each member saw since `since`, with the observer's name. */
async function allChanges(members: Member[], since: number): Promise<Array<SeenChange & { observer: string }>> {
  const out: Array<SeenChange & { observer: string }> = [];
  for (const member of members) {
    for (const change of await member.changes()) if (change.at >= since) out.push({ ...change, observer: member.name });
  }
  return out;
}

/** `observer saw subject suspect ×3`, … : changes counted by kind. */
function describeChanges(changes: Array<SeenChange & { observer: string }>): string {
  const counts = new Map<string, number>();
  for (const c of changes) {
    const key = `${c.observer} saw ${c.name} ${c.type === "updated" ? c.state : c.type}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => `${key} ×${count}`).join("; ");
}

// One cluster of four for both cases (process start-up is the slow part of these tests).
test("slow but alive is not dead", async (t) => {
  const fixture = new Fixture(t, "pause");
  const members = await startCluster(fixture, "slow", 4);
  await t.test("SIGSTOP for less than the suspicion timeout, then SIGCONT: no one declares it dead", (t) => pauseCase(t, members));
  await converge(members, 5_000);
  await t.test("a member starved of CPU does not make healthy peers look dead", (t) => starveCase(t, members));
});

async function pauseCase(t: TestContext, members: Member[]): Promise<void> {
  const paused = members[1]!;
  const { min } = suspicionBounds(FAST_MEMBERSHIP_CONFIG, members.length);
  const pauseMs = Math.floor(min * 0.6);
  const rounds = 4;
  const since = Date.now();

  for (let i = 0; i < rounds; i++) {
    process.kill(paused.pid, "SIGSTOP");
    await sleep(pauseMs);
    process.kill(paused.pid, "SIGCONT");
    await sleep(1_000);
  }
  await converge(members, 5_000, "every member to see all four alive after the pauses");

  const changes = await allChanges(members, since);
  const suspicions = changes.filter((c) => c.id === paused.id && c.type === "updated" && c.state === "suspect");
  const removals = changes.filter((c) => c.type === "removed");
  t.diagnostic(
    `${rounds} pauses of ${pauseMs} ms (shortest suspicion timeout ${min} ms): ${suspicions.length} suspicions of the paused member, ` +
      `${removals.length} removals; changes: ${describeChanges(changes) || "none"}`,
  );
  assert.deepEqual(removals.map((c) => `${c.observer} saw ${c.name} removed`), [], "no member is declared dead (or removed) by anyone");
  // Without a suspicion the test would prove nothing: the pauses must have been noticed.
  assert.ok(suspicions.length > 0, `the paused member was suspected at least once (${describeChanges(changes)})`);
}

async function starveCase(t: TestContext, members: Member[]): Promise<void> {
  const starved = members[3]!;
  const healthy = members.filter((m) => m !== starved);
  const since = Date.now();

  // Its event loop gets one turn in every 200 ms of busy work, for 3 s: what it
  // sends is answered while it spins, so its own probes time out (probe timeout
  // 50 ms) and it is late to answer the others' probes.
  await starved.request({ cmd: "starve", durationMs: 3_000, busyMs: 200, idleMs: 0 }, 20_000);
  await sleep(500);
  await converge(members, 5_000, "every member to see all four alive after the starvation");

  const changes = await allChanges(members, since);
  const healthyLookedDead = changes.filter((c) => c.type === "removed" && healthy.some((h) => h.id === c.id));
  const starvedRemoved = changes.filter((c) => c.type === "removed" && c.id === starved.id);
  t.diagnostic(
    `changes during and after the starvation: ${describeChanges(changes) || "none"}; ` +
      `the starved member itself was removed ${starvedRemoved.length} times`,
  );
  assert.deepEqual(
    healthyLookedDead.map((c) => `${c.observer} saw ${c.name} removed at +${c.at - since} ms`),
    [],
    "no healthy member is declared dead by anyone, the starved member included",
  );
}
