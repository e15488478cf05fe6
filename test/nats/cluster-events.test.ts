// Events on NATS reach the cluster by subject: three Amoeba nodes of one cluster, each on another
// server of a three-server NATS cluster, subscribers on two of them. Each event is one NATS message
// whatever the number of subscribers; each subscriber gets it once and in order, also one connected
// by hand to the publisher; another Amoeba cluster on the same servers gets nothing; a topic that is
// no subject still travels over connections; garbage on an event subject harms nobody.
import assert from "node:assert/strict";
import { after, before, describe, test, type TestContext } from "node:test";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { startNode, topic, type Node } from "../../src/index.ts";
import { nats } from "../../src/nats/index.ts";
import { eventSubject } from "../../src/nats/events.ts";
import { encodeBody } from "../../src/wire/index.ts";
import { recordingLogger, waitFor } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { natsMissing, startSupercluster, type TopologyServer } from "../support/nats-server.ts";

const Price = topic("shop.price.changed", z.object({ n: z.number(), phase: z.enum(["warm", "count", "after"]) }));
type PriceEvent = z.infer<typeof Price.schema>;
const BATCH = 200;

describe("NATS: events reach the cluster by subject", () => {
  let servers: TopologyServer[] = [];
  let raw: NatsConnection | undefined;
  const nodes: Node[] = [];
  const cluster = `events-${process.pid}`;
  const seen = new Map<string, PriceEvent[]>();
  /** Event messages on the wire for this cluster's topic, by phase. */
  const onWire = new Map<string, number>();
  let publisher: Node;
  let stopThird: () => void;

  const start = async (name: string, server: TopologyServer, inCluster = cluster): Promise<Node> => {
    const node = await startNode({ name, cluster: inCluster, engine: nats({ servers: [server.url], lookup: { heartbeat: 250, sweep: 1_000 } }), logger: recordingLogger() });
    nodes.push(node);
    return node;
  };
  const record = (node: Node): (() => void) => {
    seen.set(node.name, []);
    return node.subscribe(Price, (event) => void seen.get(node.name)!.push(event));
  };
  const phase = (name: string, which: PriceEvent["phase"]) => (seen.get(name) ?? []).filter((e) => e.phase === which).map((e) => e.n);

  before(async () => {
    if (natsMissing) return;
    servers = (await startSupercluster([{ name: "E", size: 3 }])).get("E")!;
    raw = await natsConnect({ servers: [servers[0]!.url] });
    raw.subscribe(eventSubject("amoeba", cluster, Price.topic)!, {
      callback: (_error, msg) => {
        const text = new TextDecoder().decode(msg.data);
        for (const which of ["warm", "count", "after"]) if (text.includes(which)) onWire.set(which, (onWire.get(which) ?? 0) + 1);
      },
    });
    publisher = await start("pub", servers[0]!);
    record(publisher);
    const second = await start("sub-2", servers[1]!);
    record(second);
    const third = await start("sub-3", servers[2]!);
    stopThird = record(third);
    const elsewhere = await start("other-cluster", servers[1]!, `${cluster}-other`);
    record(elsewhere);
    // sub-2 is also connected to the publisher by hand: one event still arrives once.
    await second.connect(publisher.addresses.find((a) => a.startsWith("nats://"))!);
    // Interest crosses the NATS routes in its own time: warm up until both subscribers hear.
    for (let n = 0; phase("sub-2", "warm").length === 0 || phase("sub-3", "warm").length === 0; n++) {
      if (n > 200) throw new Error("the subscribers heard no event within 10 s");
      publisher.publish(Price, { n, phase: "warm" });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  after(async () => {
    await raw?.close();
    await Promise.all(nodes.splice(0).map((node) => node.close({ timeout: 500 })));
    await Promise.all(servers.map((server) => server.stop()));
  });

  function skip(t: TestContext): boolean {
    return !requireOrSkip(t, !natsMissing, natsMissing ?? "");
  }

  test("each event is one NATS message, and reaches every subscriber of the cluster once, in order; the publisher's own subscribers too", async (t) => {
    if (skip(t)) return;
    for (let n = 0; n < BATCH; n++) publisher.publish(Price, { n, phase: "count" });
    const all = Array.from({ length: BATCH }, (_, n) => n);
    await waitFor(() => phase("sub-2", "count").length >= BATCH && phase("sub-3", "count").length >= BATCH, 10_000, "both subscribers get the batch");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(phase("sub-2", "count"), all, "sub-2 (also connected by hand): each once, in order");
    assert.deepEqual(phase("sub-3", "count"), all, "sub-3: each once, in order");
    assert.deepEqual(phase("pub", "count"), all, "the publisher's own subscriber: each once");
    assert.equal(onWire.get("count"), BATCH, "one NATS message per event, not one per subscriber");
    assert.deepEqual(phase("other-cluster", "count"), [], "another cluster on the same servers hears nothing");
    assert.deepEqual(phase("other-cluster", "warm"), []);
  });

  test("a node that stops subscribing gets no more; the others still do", async (t) => {
    if (skip(t)) return;
    stopThird();
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let n = 0; n < 20; n++) publisher.publish(Price, { n, phase: "after" });
    await waitFor(() => phase("sub-2", "after").length >= 20, 10_000, "sub-2 gets the events after sub-3 left");
    assert.deepEqual(phase("sub-3", "after"), []);
  });

  test("a topic that is no NATS subject still reaches the cluster's subscribers, over connections", async (t) => {
    if (skip(t)) return;
    const name = "odd topic!";
    assert.equal(eventSubject("amoeba", cluster, name), undefined);
    const got: unknown[] = [];
    const stop = nodes.find((node) => node.name === "sub-3")!.subscribe(name, (payload) => void got.push(payload));
    t.after(stop);
    // The subscription travels in sub-3's member record; publish until the publisher knows it.
    await waitFor(
      () => {
        publisher.publish(name, { hello: got.length });
        return got.length > 0;
      },
      10_000,
      "sub-3 gets an event whose topic is no subject",
    );
  });

  test("garbage and forged shapes on an event subject are dropped: the nodes keep hearing real events", async (t) => {
    if (skip(t)) return;
    const subject = eventSubject("amoeba", cluster, Price.topic)!;
    const before = phase("sub-2", "count").length;
    for (const bad of [new Uint8Array([0xc1, 0xff, 0x00]), encodeBody("not a list"), encodeBody([1, 2, 3]), encodeBody(["x".repeat(500), "name", {}]), encodeBody(["id", "name", { n: "x", phase: "count" }])]) {
      raw!.publish(subject, bad);
    }
    await raw!.flush();
    publisher.publish(Price, { n: BATCH, phase: "count" });
    await waitFor(() => phase("sub-2", "count").length === before + 1, 10_000, "sub-2 hears the real event after the garbage");
    assert.deepEqual(phase("sub-2", "count").slice(-1), [BATCH], "only the real event reached the subscriber (the typed topic's schema dropped the forged payload)");
  });
});
