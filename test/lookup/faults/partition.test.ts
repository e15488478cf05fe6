/**
 * Partitions between test hosts (network namespaces joined by a bridge, cut
 * with nftables): each side of a two-way partition sees the other as failed
 * and, once healed, one view again; a one-way partition makes no false death,
 * because indirect probes go around it.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { FAST_MEMBERSHIP_CONFIG } from "../../../src/lookup/membership/index.ts";
import { requireOrSkip } from "../../support/require.ts";
import { allowedDetection, converge, describeView, Fixture, sleep, waitFor, type CallResult, type Member } from "./harness.ts";
import { TestNetwork, unavailableReason } from "./netns.ts";

const reason = unavailableReason();

/** One member per host, seeded with the first; waits until they see one another. */
async function startOnHosts(t: TestContext, tag: string, hosts: string[], callers: string[] = []): Promise<{ net: TestNetwork; members: Map<string, Member> }> {
  const fixture = new Fixture(t, tag);
  const net = new TestNetwork(t, hosts);
  const at = (name: string) => ({ gossip: `udp://${net.host(name).ip}:7946`, listen: `tcp://${net.host(name).ip}:7400` });
  const seed = at(hosts[0]!).gossip;
  const started = await Promise.all(
    hosts.map((name) =>
      fixture.start({ name, ...at(name), seeds: name === hosts[0] ? [] : [seed], serveCalculator: !callers.includes(name) }, net.host(name).exec),
    ),
  );
  await converge(started, 15_000);
  return { net, members: new Map(hosts.map((name, i) => [name, started[i]!])) };
}

/** Whether every member of `observers` holds every member of `subjects` in `state`. */
async function everyoneSees(observers: Member[], subjects: Member[], state: string): Promise<boolean> {
  for (const observer of observers) {
    const view = await observer.members();
    if (!subjects.every((s) => view.find((v) => v.id === s.id)?.state === state)) return false;
  }
  return true;
}

async function views(members: Member[]): Promise<string> {
  return (await Promise.all(members.map(async (m) => `${m.name}: ${describeView(await m.members())}`))).join("; ");
}

// One network of five test hosts and one cluster for every case, in turn (process
// start-up is the slow part of these tests); each case ends with one view again.
// Host e calls the calculator served on a, b, c and d.
test("partitions between test hosts", async (t) => {
  if (!requireOrSkip(t, reason === null, `partition tests need network namespaces: ${reason}`)) return;
  const { net, members } = await startOnHosts(t, "partition", ["a", "b", "c", "d", "e"], ["e"]);
  const all = [...members.values()];
  await t.test("a one-way partition: indirect probes prevent a false death", (t) => oneWay(t, net, all));
  const calls: CallsDuringCut = { results: [], sawDead: 0, cutAt: 0 };
  await t.test("a partition between two groups: each side sees the other failed; healed, one view again", (t) => twoWay(t, net, members, calls));
  await t.test("calls through node.client() stop going to the far side once the look-up declares it dead", (t) => callsAvoidTheDead(t, calls));
});

interface CallsDuringCut {
  results: CallResult[];
  cutAt: number;
  /** When the caller saw the far side dead. */
  sawDead: number;
}

async function oneWay(t: TestContext, net: TestNetwork, all: Member[]): Promise<void> {
  const since = Date.now();
  const { bound } = allowedDetection(all.length);
  // a's packets never reach b; b's reach a. Direct probes between them fail both
  // ways (a's pings, or b's acks, are lost), but the others can probe each for the other.
  net.drop("a", "b");
  const window = bound + 1_000;
  await sleep(window);
  const dropped = net.droppedPackets("b");
  net.heal();
  await converge(all, 5_000, "every member to see all five alive");

  const removals: string[] = [];
  const suspicions: string[] = [];
  for (const observer of all) {
    for (const change of (await observer.changes()).filter((c) => c.at >= since)) {
      if (change.type === "removed") removals.push(`${observer.name} saw ${change.name} removed at +${change.at - since} ms`);
      if (change.type === "updated" && change.state === "suspect") suspicions.push(`${observer.name}→${change.name}`);
    }
  }
  t.diagnostic(
    `one-way cut a→b for ${window} ms (detection bound ${bound} ms): ${dropped} packets dropped; ` +
      `${suspicions.length} suspicions (${suspicions.join(" ") || "none"}); ${removals.length} removals`,
  );
  assert.ok(dropped > 0, "the one-way rule dropped a's packets to b");
  assert.deepEqual(removals, [], "no member was declared dead by anyone");
}

async function twoWay(t: TestContext, net: TestNetwork, members: Map<string, Member>, calls: CallsDuringCut): Promise<void> {
  const left = ["a", "b", "e"].map((name) => members.get(name)!);
  const right = ["c", "d"].map((name) => members.get(name)!);
  const all = [...left, ...right];
  const caller = members.get("e")!;
  const { bound, allowed } = allowedDetection(all.length);

  // Calls in parallel before any connection exists reach every server, so the
  // caller holds a connection to each, the far side included.
  const warmup = await caller.request<CallResult[]>({ cmd: "call", count: 12, intervalMs: 0, timeoutMs: 3_000, parallel: true });
  assert.deepEqual(warmup.filter((r) => !r.ok), [], "every call succeeds before the cut");
  for (const server of right) assert.ok((await server.request<number>({ cmd: "served" })) > 0, `${server.name} served calls before the cut`);
  await caller.request({ cmd: "startCalls", intervalMs: 20, timeoutMs: 300 });

  calls.cutAt = Date.now();
  net.partition(["a", "b", "e"], ["c", "d"]);
  try {
    const cut = await waitFor(
      "each side to see the other dead",
      async () => {
        const done = (await everyoneSees(left, right, "dead")) && (await everyoneSees(right, left, "dead"));
        if (!calls.sawDead && (await everyoneSees([caller], right, "dead"))) calls.sawDead = Date.now();
        return done;
      },
      allowed,
      { describe: () => views(all) },
    );
    // Each side still sees itself whole.
    assert.ok(await everyoneSees(left, left, "alive"), `the left side sees itself alive: ${await views(left)}`);
    assert.ok(await everyoneSees(right, right, "alive"), `the right side sees itself alive: ${await views(right)}`);
    await sleep(1_000);
    calls.results = await caller.request<CallResult[]>({ cmd: "stopCalls" });

    net.heal();
    // The sides meet again through push-pull with a dead member (every pushPullInterval)
    // and gossip to the recently dead.
    const healLimit = 2 * FAST_MEMBERSHIP_CONFIG.pushPullInterval + 3_000;
    const healed = await converge(all, healLimit, "one view again after healing");
    t.diagnostic(
      `n=5, detection bound ${bound} ms (allowed ${allowed} ms): each side saw the other dead ${cut} ms after the cut; ` +
        `one view ${healed} ms after healing (allowed ${healLimit} ms; push-pull every ${FAST_MEMBERSHIP_CONFIG.pushPullInterval} ms)`,
    );
  } finally {
    net.heal();
  }
}

async function callsAvoidTheDead(t: TestContext, calls: CallsDuringCut): Promise<void> {
  assert.ok(calls.sawDead > 0 && calls.results.length > 0, "the partition case recorded calls");
  const after = calls.results.filter((r) => r.at > calls.sawDead);
  const failedAfter = after.filter((r) => !r.ok);
  t.diagnostic(
    `the caller saw the far side dead ${calls.sawDead - calls.cutAt} ms after the cut; after that ${after.length} calls, ${failedAfter.length} failed ` +
      `(${[...new Set(failedAfter.map((r) => r.code))].join(", ") || "none"})`,
  );
  assert.ok(after.length > 0, "calls went on after the far side was declared dead");
  assert.deepEqual(
    failedAfter.map((r) => `${r.code}: ${r.message}`),
    [],
    "no call goes to a member the look-up holds dead (kept connections to it included)",
  );
}
