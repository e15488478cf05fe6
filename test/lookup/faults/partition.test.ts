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

test("a partition between two groups: each side sees the other failed; healed, one view again", async (t) => {
  if (!requireOrSkip(t, reason === null, `partition tests need network namespaces: ${reason}`)) return;
  const { net, members } = await startOnHosts(t, "partition", ["a", "b", "c", "d"]);
  const left = [members.get("a")!, members.get("b")!];
  const right = [members.get("c")!, members.get("d")!];
  const all = [...left, ...right];
  const { bound, allowed } = allowedDetection(all.length);

  net.partition(["a", "b"], ["c", "d"]);
  const cut = await waitFor(
    "each side to see the other dead",
    async () => (await everyoneSees(left, right, "dead")) && (await everyoneSees(right, left, "dead")),
    allowed,
    { describe: () => views(all) },
  );
  // Each side still sees itself whole.
  assert.ok(await everyoneSees(left, left, "alive"), `the left side sees itself alive: ${await views(left)}`);
  assert.ok(await everyoneSees(right, right, "alive"), `the right side sees itself alive: ${await views(right)}`);

  net.heal();
  // The sides meet again through push-pull with a dead member (every pushPullInterval)
  // and gossip to the recently dead.
  const healLimit = 2 * FAST_MEMBERSHIP_CONFIG.pushPullInterval + 3_000;
  const healed = await converge(all, healLimit, "one view again after healing");
  t.diagnostic(
    `n=4, detection bound ${bound} ms (allowed ${allowed} ms): each side saw the other dead ${cut} ms after the cut; ` +
      `one view ${healed} ms after healing (allowed ${healLimit} ms; push-pull every ${FAST_MEMBERSHIP_CONFIG.pushPullInterval} ms)`,
  );
});

test("a one-way partition: indirect probes prevent a false death", async (t) => {
  if (!requireOrSkip(t, reason === null, `partition tests need network namespaces: ${reason}`)) return;
  const { net, members } = await startOnHosts(t, "oneway", ["a", "b", "c", "d"]);
  const all = [...members.values()];
  const since = Date.now();
  const { bound } = allowedDetection(all.length);

  // a's packets never reach b; b's reach a. Direct probes between them fail both
  // ways (a's pings, or b's acks, are lost), but c and d can probe each for the other.
  net.drop("a", "b");
  const window = bound + 1_000;
  await sleep(window);
  const dropped = net.droppedPackets("b");
  net.heal();
  await converge(all, 5_000, "every member to see all four alive");

  const removals: string[] = [];
  const suspicions: string[] = [];
  for (const observer of all) {
    for (const change of (await observer.changes()).filter((c) => c.at >= since)) {
      if (change.type === "removed") removals.push(`${observer.name} saw ${change.name} removed at +${change.at - since} ms`);
      if (change.type === "updated" && change.state === "suspect") suspicions.push(`${observer.name} suspected ${change.name}`);
    }
  }
  t.diagnostic(
    `one-way cut a→b for ${window} ms (detection bound ${bound} ms): ${dropped} packets dropped; ` +
      `${suspicions.length} suspicions (${suspicions.join(", ") || "none"}); ${removals.length} removals`,
  );
  assert.ok(dropped > 0, "the one-way rule dropped a's packets to b");
  assert.deepEqual(removals, [], "no member was declared dead by anyone");
});

test("calls through node.client() stop going to the far side of a partition once the look-up declares it dead", async (t) => {
  if (!requireOrSkip(t, reason === null, `partition tests need network namespaces: ${reason}`)) return;
  const { net, members } = await startOnHosts(t, "partition-calls", ["a", "b", "c", "d"], ["a"]);
  const caller = members.get("a")!;
  const far = [members.get("c")!, members.get("d")!];
  const { allowed } = allowedDetection(members.size);

  // Calls in parallel before any connection exists reach all three servers, so the
  // caller holds a connection to each, the far side included.
  const warmup = await caller.request<CallResult[]>({ cmd: "call", count: 9, intervalMs: 0, timeoutMs: 3_000, parallel: true });
  assert.deepEqual(warmup.filter((r) => !r.ok), [], "every call succeeds before the cut");
  for (const server of far) assert.ok((await server.request<number>({ cmd: "served" })) > 0, `${server.name} served calls before the cut`);

  await caller.request({ cmd: "startCalls", intervalMs: 20, timeoutMs: 300 });
  const cutAt = Date.now();
  net.partition(["a", "b"], ["c", "d"]);
  await waitFor("the caller to see the far side dead", () => everyoneSees([caller], far, "dead"), allowed, { describe: () => views([caller]) });
  const sawDead = Date.now();
  await sleep(1_500);
  const results = await caller.request<CallResult[]>({ cmd: "stopCalls" });
  const after = results.filter((r) => r.at > sawDead);
  const failedAfter = after.filter((r) => !r.ok);
  t.diagnostic(
    `the caller saw the far side dead ${sawDead - cutAt} ms after the cut; after that ${after.length} calls, ${failedAfter.length} failed ` +
      `(${[...new Set(failedAfter.map((r) => r.code))].join(", ") || "none"})`,
  );
  assert.ok(after.length > 0, "calls went on after the far side was declared dead");
  assert.deepEqual(
    failedAfter.map((r) => `${r.code}: ${r.message}`),
    [],
    "no call goes to a member the look-up holds dead (kept connections to it included)",
  );
});
