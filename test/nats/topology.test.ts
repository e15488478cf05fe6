// Amoeba on real NATS topologies, with nats-server processes this file starts
// on free ports of 127.0.0.1 and stops: a 3-server cluster, a leaf node (an
// edge LAN) attached to it, a second cluster joined by gateways (a
// supercluster), and a server of a cluster killed under load.
import assert from "node:assert/strict";
import { after, before, describe, test, type TestContext } from "node:test";
import { z } from "zod";
import { contract, startNode, unary, type Node } from "../../src/index.ts";
import { nats } from "../../src/nats/index.ts";
import { recordingLogger, sleep, waitFor } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { natsMissing, startLeafServer, startSupercluster, type TopologyServer } from "../support/nats-server.ts";

/** Answers with the name of the node that ran the call. */
const Where = contract("topology.where", "1.0.0", {
  where: unary({ input: z.object({ n: z.number() }), output: z.object({ node: z.string(), n: z.number() }), idempotent: true }),
});

/** Runs once per call, counted by the node that ran it: not idempotent, so never retried. */
const Ledger = contract("topology.ledger", "1.0.0", {
  enter: unary({ input: z.object({ n: z.number() }), output: z.object({ node: z.string(), n: z.number() }) }),
});

/** A service on cluster A, for the leaf's node. */
const Vault = contract("topology.vault", "1.0.0", {
  open: unary({ input: z.string(), output: z.string() }),
});

/** A service only cluster B has. */
const Archive = contract("topology.archive", "1.0.0", {
  fetch: unary({ input: z.string(), output: z.string() }),
});

const CLUSTER = "topology";
/** Interest crosses routes, leaf connections and gateways in its own time: wait for it, boundedly. */
const PROPAGATION_MS = 20_000;

function serveWhere(node: Node): void {
  node.serve(Where, { where: ({ n }) => ({ node: node.name, n }) });
}

describe("NATS topologies", () => {
  let topology: Map<string, TopologyServer[]> | undefined;
  let leaf: TopologyServer | undefined;
  const nodes: Node[] = [];

  before(async () => {
    if (natsMissing) return;
    topology = await startSupercluster([
      { name: "A", size: 3 },
      { name: "B", size: 2 },
    ]);
    leaf = await startLeafServer("leaf-A", topology.get("A")!);
  });

  after(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.close({ timeout: 500 })));
    await leaf?.stop();
    await Promise.all([...(topology?.values() ?? [])].flat().map((server) => server.stop()));
  });

  async function node(name: string, servers: readonly TopologyServer[]): Promise<Node> {
    const started = await startNode({
      name,
      cluster: CLUSTER,
      engine: nats({ servers: servers.map((server) => server.url), lookup: { heartbeat: 250, ttl: 5_000, sweep: 1_000 } }),
      logger: recordingLogger(),
    });
    nodes.push(started);
    return started;
  }

  function skip(t: TestContext): boolean {
    return !requireOrSkip(t, !natsMissing, natsMissing ?? "");
  }

  test("a 3-server cluster: nodes on different servers find and call each other", async (t) => {
    if (skip(t)) return;
    const a = topology!.get("A")!;
    // Each node serves a contract of its own, so every call must cross to the node on another server.
    const own = a.map((_, i) => contract(`topology.member${i + 1}`, "1.0.0", { whoami: unary({ input: z.null(), output: z.string() }) }));
    const members = await Promise.all(a.map((server, i) => node(`a-${i + 1}`, [server])));
    members.forEach((member, i) => member.serve(own[i]!, { whoami: () => member.name }));
    for (const caller of members) {
      for (const [i, callee] of members.entries()) {
        if (callee === caller) continue;
        await waitFor(() => caller.lookup(own[i]!).length === 1, PROPAGATION_MS, `${caller.name} sees ${callee.name}`);
        assert.equal(await caller.client(own[i]!).whoami(null), callee.name, `${caller.name} → ${callee.name} across the cluster's routes`);
      }
    }
  });

  test("a leaf node: a node on the edge LAN calls a service on the cluster, and the cluster calls back", async (t) => {
    if (skip(t)) return;
    const a = topology!.get("A")!;
    const central = await node("central", [a[1]!]);
    central.serve(Vault, { open: (what) => `central opened ${what}` });
    const edge = await node("edge", [leaf!]);
    serveWhere(edge);
    await waitFor(() => edge.lookup(Vault).some((i) => i.node.id === central.id), PROPAGATION_MS, "the edge node sees the central service");
    assert.equal(await edge.client(Vault).open("box"), "central opened box", "edge → cluster through the leaf connection");
    await waitFor(() => central.lookup(Where).some((i) => i.node.id === edge.id), PROPAGATION_MS, "the central node sees the edge service");
    assert.equal((await central.client(Where).where({ n: 1 })).node, "edge", "cluster → edge");
  });

  test("a supercluster: a node on a leaf of cluster A reaches a service only cluster B has, through the gateways", async (t) => {
    if (skip(t)) return;
    const b = topology!.get("B")!;
    const faraway = await node("archive-b", [b[0]!, b[1]!]);
    faraway.serve(Archive, { fetch: (what) => `B fetched ${what}` });
    const edge = await node("edge-2", [leaf!]);
    await waitFor(() => edge.lookup(Archive).length > 0, PROPAGATION_MS, "the leaf's node sees the service of cluster B");
    assert.deepEqual(
      edge.lookup(Archive).map((i) => i.node.name),
      ["archive-b"],
      "cluster B's node is the only instance",
    );
    const archive = edge.client(Archive);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => archive.fetch(`box-${i}`)));
    assert.deepEqual(
      answers,
      Array.from({ length: 20 }, (_, i) => `B fetched box-${i}`),
      "leaf → A → gateway → B, and back",
    );
  });
});

describe("NATS: a server of the cluster dies under load", () => {
  test("100 calls/s while the server most nodes are on is killed: connections resume, every call succeeds and runs once", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const cluster = await startSupercluster([{ name: "K", size: 3 }]);
    const servers = cluster.get("K")!;
    t.after(() => Promise.all(servers.map((server) => server.stop())));
    const urls = servers.map((server) => server.url);
    const started: Node[] = [];
    t.after(() => Promise.all(started.map((node) => node.close({ timeout: 500 }))));
    const start = async (name: string): Promise<Node> => {
      const node = await startNode({ name, cluster: "kill", engine: nats({ servers: urls, lookup: { heartbeat: 250, ttl: 5_000, sweep: 1_000 } }), logger: recordingLogger() });
      started.push(node);
      return node;
    };
    const services = [await start("svc-1"), await start("svc-2")];
    for (const service of services) serveWhere(service);
    const entered = new Map<number, number>();
    for (const service of services) {
      service.serve(Ledger, {
        enter: async ({ n }) => {
          entered.set(n, (entered.get(n) ?? 0) + 1);
          // In flight long enough that some calls span the kill.
          await sleep(50);
          return { node: service.name, n };
        },
      });
    }
    const caller = await start("caller");
    await waitFor(() => caller.lookup(Where).length === 2 && caller.lookup(Ledger).length === 2, PROPAGATION_MS, "the caller sees both instances");
    // The client shuffles its server list: kill the server most of these nodes happen to be on (the caller's on a tie).
    const placement = await Promise.all(["caller", "svc-1", "svc-2"].map((name) => serverOf(name, servers)));
    const hosted = (server: TopologyServer): number => placement.filter((at) => at === server).length;
    const victim = [...servers].sort((x, y) => hosted(y) - hosted(x) || Number(y === placement[0]) - Number(x === placement[0]))[0]!;
    t.diagnostic(`caller, svc-1, svc-2 on ${placement.map((at) => at.name).join(", ")}; killing ${victim.name}`);
    const client = caller.client(Where, { timeout: 10_000 });
    // No retries: a call whose connection did not resume would fail.
    const ledger = caller.client(Ledger, { timeout: 10_000, balance: { retries: 0 } });

    const RATE = 100;
    const SECONDS = 4;
    const KILL_AT_MS = 1_500;
    const outcomes: Array<Promise<{ ok: true; node: string } | { ok: false; error: string }>> = [];
    const begun = Date.now();
    let killed = false;
    for (let i = 0; i < RATE * SECONDS; i++) {
      // Open loop: a call every 10 ms whether or not the earlier ones answered.
      const due = begun + (i * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      if (!killed && Date.now() - begun >= KILL_AT_MS) {
        killed = true;
        await victim.kill();
      }
      const call = i % 2 === 0 ? client.where({ n: i }) : ledger.enter({ n: i });
      outcomes.push(
        call.then(
          (answer) => (answer.n === i ? { ok: true as const, node: answer.node } : { ok: false as const, error: `answer for ${answer.n}, not ${i}` }),
          (error: Error & { code?: string }) => ({ ok: false as const, error: `${error.code}: ${error.message}` }),
        ),
      );
    }
    assert.ok(killed, "the server was killed during the load");
    const results = await Promise.all(outcomes);
    const failed = results.flatMap((result, i) => (result.ok ? [] : [`#${i}: ${result.error}`]));
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${results.length} calls failed`);
    assert.equal(results.length, RATE * SECONDS);
    // The caller is on another server now, and both instances still answer.
    const survivors = servers.filter((server) => server !== victim);
    assert.notEqual((await serverOf("caller", survivors)).name, victim.name);
    const reached = new Set(results.map((result) => (result.ok ? result.node : "")));
    assert.deepEqual([...reached].sort(), ["svc-1", "svc-2"], "both instances served calls");
    const twice = [...entered].filter(([, times]) => times !== 1);
    assert.deepEqual(twice, [], "each call of the non-idempotent method ran exactly once");
    assert.equal(entered.size, (RATE * SECONDS) / 2);
  });
});

/** The server whose monitoring lists a client connection named `name` (bounded wait). */
async function serverOf(name: string, servers: readonly TopologyServer[]): Promise<TopologyServer> {
  const until = Date.now() + PROPAGATION_MS;
  for (;;) {
    for (const server of servers) {
      if (server.monitorPort === undefined) continue;
      try {
        const response = await fetch(`http://127.0.0.1:${server.monitorPort}/connz?limit=1024`);
        const connz = (await response.json()) as { connections?: Array<{ name?: string }> };
        if (connz.connections?.some((connection) => connection.name === name)) return server;
      } catch {
        // Not answering (yet, or any more): ask the next one.
      }
    }
    if (Date.now() > until) throw new Error(`no server lists a client named ${name}`);
    await sleep(50);
  }
}
