/**
 * Events reach the whole cluster: nodes that never connected by hand, found
 * by look-up (gossip, and a registry), receive what any member publishes on a
 * topic they subscribe to, once each; a node that stops subscribing gets no
 * more; members of another cluster get nothing. A subscribe() whose topic the
 * member record cannot list fails whole.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { z } from "zod";
import { contract, startNode, unary, type EventInfo, type Node, type NodeOptions } from "../../src/index.ts";
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

test("a subscribe() that would take the topics label past the gossip record's 512 characters fails and leaves nothing behind", async (t) => {
  const Ping = contract("events.ping", "1.0.0", { ping: unary({ input: z.object({}), output: z.string() }) });
  const cluster = `events-${process.pid}-${++clusters}`;
  const [n0, n1] = (await start(2, () => ({ cluster, lookup: { membership: FAST_MEMBERSHIP_CONFIG } }))) as [Node, Node];
  t.after(() => Promise.all([n0, n1].map((n) => n.close({ timeout: 500 }))));
  n1.serve(Ping, { ping: () => "pong" });
  await until(() => [n0, n1].every((n) => n.members().filter((m) => m.state === "alive").length === 2), 10_000);
  // A connection from n0 to n1 too: a SUBSCRIBE frame on it would be a subscription made by another way.
  const peer = await n0.connect(n1.addresses[0]!);
  const barrier = async (): Promise<void> => assert.equal(await peer.client(Ping).ping({}), "pong");

  // Topics of 60 characters: eight take 487 characters of the label, a ninth would take 548.
  const name = (i: number): string => `topic-${String(i).padStart(2, "0")}-`.padEnd(60, "x");
  const got = new Map<string, Got>();
  const stops: Array<() => void> = [];
  for (let i = 0; i < 8; i++) {
    got.set(name(i), []);
    stops.push(n1.subscribe(name(i), collect(got.get(name(i))!)));
  }
  const label = n1.labels["amoeba.topics"];
  assert.equal(label?.length, 487);
  await until(() => n0.members().find((m) => m.record.name === "n1")?.record.labels["amoeba.topics"] === label, 5_000);

  const refused: Got = [];
  assert.throws(
    () => n1.subscribe(name(8), collect(refused)),
    (error: unknown) => error instanceof RangeError && error.message.includes(`subscribe("${name(8)}")`) && error.message.includes("amoeba.topics") && error.message.includes("not subscribed"),
  );
  // Nothing of it is left: not the label, not the handler, not a SUBSCRIBE on the connection.
  assert.equal(n1.labels["amoeba.topics"], label, "the label is as before");
  n1.publish(name(8), "local");
  n0.publish(name(8), "over the connection");
  await barrier();
  await sleep(200);
  assert.equal(n0.members().find((m) => m.record.name === "n1")?.record.labels["amoeba.topics"], label, "the record others see is as before");
  assert.deepEqual(refused, [], "the refused subscriber got nothing");

  // The earlier subscriptions keep working, by look-up and locally.
  n0.publish(name(0), "a");
  n1.publish(name(7), "b");
  await until(() => got.get(name(0))!.length === 1 && got.get(name(7))!.length === 1, 5_000);
  assert.deepEqual(got.get(name(0)), [{ payload: "a", from: "n0" }]);

  // A limit, not a broken state: with room made, the same topic subscribes.
  stops[3]!();
  const later: Got = [];
  n1.subscribe(name(8), collect(later));
  await until(() => (n0.members().find((m) => m.record.name === "n1")?.record.labels["amoeba.topics"] ?? "").split(",").includes(name(8)), 5_000);
  n0.publish(name(8), "c");
  await until(() => later.length === 1, 5_000);
});
