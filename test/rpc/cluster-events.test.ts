/**
 * Events reach the whole cluster: nodes that never connected by hand, found
 * by look-up (gossip, and a registry), receive what any member publishes on a
 * topic they subscribe to, once each; a node that stops subscribing gets no
 * more; members of another cluster get nothing.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startNode, type EventInfo, type Node, type NodeOptions } from "../../src/index.ts";
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/config.ts";
import { serveRegistry } from "../../src/lookup/registry/server.ts";
import { recordingLogger, sleep, waitFor } from "./support.ts";

const until = (predicate: () => boolean, ms: number): Promise<void> => waitFor(predicate, ms, "the condition");

let rendezvous = "";
before(async () => {
  rendezvous = await mkdtemp(join(tmpdir(), "amoeba-events-test-"));
  process.env.AMOEBA_RENDEZVOUS_DIR = rendezvous;
});
after(async () => {
  await rm(rendezvous, { recursive: true, force: true });
});

let clusters = 0;

async function start(count: number, options: (i: number) => NodeOptions): Promise<Node[]> {
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) nodes.push(await startNode({ name: `n${i}`, listen: "tcp://127.0.0.1:0", logger: recordingLogger(), ...options(i) }));
  return nodes;
}

type Got = Array<{ payload: unknown; from: string }>;
const collect = (into: Got) => (payload: unknown, info: EventInfo) => void into.push({ payload, from: info.from });

/** Each node's subscribers on "news": n1 and n2 subscribe, n0 publishes; nobody dialed anyone by hand. */
async function publishAcross(nodes: Node[]): Promise<void> {
  const [n0, n1, n2] = nodes as [Node, Node, Node];
  const at1: Got = [];
  const at2: Got = [];
  const stop1 = n1.subscribe("news", collect(at1));
  n2.subscribe("news", collect(at2));
  await until(
    () => ["n1", "n2"].every((name) => n0.members().some((m) => m.record.name === name && (m.record.labels["amoeba.topics"] ?? "").split(",").includes("news"))),
    5_000,
  );
  for (let i = 0; i < 5; i++) n0.publish("news", { i });
  await until(() => at1.length === 5 && at2.length === 5, 5_000);
  assert.deepEqual(at1.map((e) => e.payload), [0, 1, 2, 3, 4].map((i) => ({ i })), "n1 got each event once, in order");
  assert.deepEqual(at2.map((e) => e.payload), [0, 1, 2, 3, 4].map((i) => ({ i })), "n2 got each event once, in order");
  assert.ok(at1.every((e) => e.from === "n0"));
  // n1 stops subscribing: once its record says so, it gets nothing more; n2 still does.
  stop1();
  await until(() => !(n0.members().find((m) => m.record.name === "n1")?.record.labels["amoeba.topics"] ?? "").includes("news"), 5_000);
  n0.publish("news", { i: 5 });
  await until(() => at2.length === 6, 5_000);
  await sleep(200);
  assert.equal(at1.length, 5, "n1 got nothing after it stopped subscribing");
}

test("gossip: a topic's subscribers anywhere in the cluster receive what one member publishes, once each", async (t) => {
  const cluster = `events-${process.pid}-${++clusters}`;
  const nodes = await start(3, () => ({ cluster, lookup: { membership: FAST_MEMBERSHIP_CONFIG } }));
  const other = await startNode({ name: "elsewhere", cluster: `${cluster}-other`, listen: "tcp://127.0.0.1:0", logger: recordingLogger(), lookup: { membership: FAST_MEMBERSHIP_CONFIG } });
  t.after(() => Promise.all([...nodes, other].map((n) => n.close({ timeout: 500 }))));
  const atOther: Got = [];
  other.subscribe("news", collect(atOther));
  await until(() => nodes.every((n) => n.members().filter((m) => m.state === "alive").length === 3), 10_000);
  await publishAcross(nodes);
  assert.deepEqual(atOther, [], "a node of another cluster got nothing");
});

test("registry: the same through client-server look-up", async (t) => {
  const registry = await startNode({ name: "registry", listen: "tcp://127.0.0.1:0", logger: recordingLogger() });
  const stop = serveRegistry(registry);
  const cluster = `events-${process.pid}-${++clusters}`;
  const nodes = await start(3, () => ({ cluster, registry: registry.addresses[0]!, lookup: { registryTtl: 3_000 } }));
  t.after(async () => {
    await Promise.all(nodes.map((n) => n.close({ timeout: 500 })));
    stop();
    await registry.close({ timeout: 500 });
  });
  await until(() => nodes.every((n) => n.members().filter((m) => m.state === "alive").length === 3), 10_000);
  await publishAcross(nodes);
});
