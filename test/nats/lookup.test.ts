// Look-up on NATS: node.lookup and node.watch follow nodes as they start,
// leave, or go silent; bad announcements change nothing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { randomUUID } from "node:crypto";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { contract, startNode, unary, type LookupChange, type Node } from "../../src/index.ts";
import { nats } from "../../src/nats/index.ts";
import { recordingLogger, waitFor, within } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { natsMissing, startNatsServer, type NatsServer } from "../support/nats-server.ts";

const Echo = contract("lookup.echo", "2.1.0", { echo: unary({ input: z.string(), output: z.string() }) });

describe("look-up on NATS", () => {
  let server: NatsServer | undefined;
  let raw: NatsConnection | undefined;
  const nodes: Node[] = [];
  let counter = 0;

  before(async () => {
    if (natsMissing) return;
    server = await startNatsServer();
    raw = await natsConnect({ servers: [server.url] });
  });
  after(async () => {
    for (const node of nodes) await node.close({ timeout: 500 });
    await raw?.close();
    await server?.stop();
  });

  async function node(name: string, cluster: string): Promise<Node> {
    const started = await startNode({ name, cluster, engine: nats({ servers: [server!.url], lookup: { heartbeat: 100, ttl: 400 } }), logger: recordingLogger() });
    nodes.push(started);
    return started;
  }

  /** Collects a watch's changes into an array until the signal aborts. */
  function collect(watcher: Node, signal: AbortSignal): LookupChange[] {
    const changes: LookupChange[] = [];
    void (async () => {
      for await (const change of watcher.watch(Echo, { signal })) changes.push(change);
    })();
    return changes;
  }

  test("watch sees an instance added when a node serves, and removed when it leaves; members() says left", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const cluster = `lookup-${++counter}`;
    const watcher = await node("watcher", cluster);
    const controller = new AbortController();
    t.after(() => controller.abort());
    const changes = collect(watcher, controller.signal);
    const server1 = await node("echo-1", cluster);
    server1.serve(Echo, { echo: (s) => s });
    await waitFor(() => changes.some((c) => c.type === "added"), 5_000, "an added instance");
    const added = changes.find((c) => c.type === "added")!;
    assert.equal(added.instance.node.name, "echo-1");
    assert.equal(added.instance.version, "2.1.0");
    assert.deepEqual(added.instance.addresses, [`nats://${server1.id}`]);
    assert.deepEqual(watcher.lookup(Echo, { version: "^2" }).map((i) => i.node.name), ["echo-1"]);
    assert.deepEqual(watcher.lookup(Echo, { version: "^3" }), [], "a version range that does not match finds nothing");
    assert.equal(await watcher.client(Echo).echo("hi"), "hi", "a call finds it by look-up");

    await server1.close({ timeout: 1_000 });
    await waitFor(() => changes.some((c) => c.type === "removed"), 5_000, "a removed instance");
    assert.equal(watcher.members().find((m) => m.record.id === server1.id)?.state, "left");
    assert.deepEqual(watcher.lookup(Echo), []);
  });

  test("a newcomer sees the nodes that were there before it at once", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const cluster = `lookup-${++counter}`;
    const early = await node("early", cluster);
    early.serve(Echo, { echo: (s) => `early:${s}` });
    const late = await node("late", cluster);
    await waitFor(() => late.lookup(Echo).length === 1, 5_000, "the late node finds the early one");
    assert.equal(await late.client(Echo).echo("x"), "early:x");
    const other = await node("other-cluster", `${cluster}-other`);
    await waitFor(() => other.members().length >= 1, 1_000, "its own record");
    assert.deepEqual(other.lookup(Echo), [], "another cluster's services are not listed");
  });

  test("a member that goes silent is declared dead after the ttl; garbage on the announce subject changes nothing", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const cluster = `lookup-${++counter}`;
    const watcher = await node("watcher", cluster);
    for (const junk of ["", "{", "null", "[]", JSON.stringify({ v: 1, op: "alive", incarnation: 1, record: { id: 7 } })]) {
      raw!.publish("amoeba.lookup", junk);
    }
    raw!.publish("amoeba.lookup", new Uint8Array([0xff, 0x00, 0x13]));
    // A member as a plain NATS client would announce it, then never again: as if its process died.
    const id = randomUUID();
    const record = { id, name: "ghost", cluster, gossip: "", addresses: [`nats://${id}`], labels: {}, services: [["lookup.echo", "2.1.0"]], load: 0 };
    raw!.publish("amoeba.lookup", JSON.stringify({ v: 1, op: "alive", incarnation: 1, record }));
    await waitFor(() => watcher.lookup(Echo).some((i) => i.node.id === id), 5_000, "the ghost is listed");
    await waitFor(() => watcher.members().find((m) => m.record.id === id)?.state === "dead", 5_000, "the ghost declared dead");
    assert.deepEqual(watcher.lookup(Echo), []);
    const error = await within(
      watcher
        .client(Echo)
        .echo("x", { timeout: 30_000 })
        .then(
          () => null,
          (e: Error) => e,
        ),
      10_000,
      "a call with nowhere to go fails",
    );
    assert.match(String((error as { code?: string } | null)?.code), /UNAVAILABLE/);
  });
});
