// The recent-calls ring without OpenTelemetry, across processes: caller (this process) → front → back.
// Each node keeps its calls; amoeba.traces on every node gives the pieces that one trace id stitches together.
import { nodeInternals } from "../../src/node/node.ts";
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { connect, contract, isRpcError, RpcError, startNode, stitchTrace, stream, TracesContract, unary, type RecentCall, type TraceStep } from "../../src/index.ts";
import { RecentCalls } from "../../src/observe/recent-calls.ts";
import { formatTraceparent, parseTraceparent } from "../../src/rpc/traceparent.ts";
import { Front } from "./fixture.ts";
import { eventually, startTracedNode } from "./harness.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

test("one call's path across two hops, stitched from each node's amoeba.traces by its trace id", async (t) => {
  const back = await startTracedNode(t, { name: "back", role: "back", otel: false, recent: 50 });
  const front = await startTracedNode(t, { name: "front", role: "front", back: back.address, otel: false, recent: 50 });
  const caller = await startNode({ name: "caller", logger: silent, traces: { recent: 50, otel: false } });
  t.after(() => caller.close({ timeout: 500 }));
  const frontPeer = await caller.connect(front.address);
  const backPeer = await caller.connect(back.address);

  assert.equal(await caller.client(Front).relay({ mode: "ok" }), "back: ok");
  const [mine] = caller.recentCalls().calls;
  assert.ok(mine, "the caller kept its call");
  assert.deepEqual([mine.kind, mine.service, mine.method, mine.peer, mine.code, mine.attempts, mine.parentSpanId], ["client", "obs.front", "relay", "front", "OK", 1, null]);

  const frontCalls = (await frontPeer.client(TracesContract).recent({ traceId: mine.traceId })).calls;
  const backReport = await eventually("the back's entry", async () => {
    const report = await backPeer.client(TracesContract).recent({ traceId: mine.traceId });
    return report.calls.length > 0 ? report : undefined;
  });
  assert.deepEqual([backReport.node, backReport.capacity], ["back", 50]);
  const frontServer = frontCalls.find((call) => call.kind === "server")!;
  const frontClient = frontCalls.find((call) => call.kind === "client")!;
  const [backServer] = backReport.calls as [RecentCall];
  assert.equal(frontCalls.length, 2, "the front kept the call it served and the call it made");
  assert.equal(frontServer.parentSpanId, mine.spanId, "front's server side is a child of the caller's call");
  assert.equal(frontClient.parentSpanId, frontServer.spanId, "the nested call is a child of the call being served");
  assert.equal(backServer.parentSpanId, frontClient.spanId, "back's server side is a child of the front's nested call");
  assert.deepEqual([frontServer.peer, frontClient.peer, backServer.peer], ["caller", "back", "front"]);
  for (const call of [frontServer, frontClient, backServer]) assert.equal(call.code, "OK");
  // Timings nest: each side lasts at least as long as what it waited for.
  assert.ok(mine.durationMs >= frontServer.durationMs && frontServer.durationMs >= frontClient.durationMs && frontClient.durationMs >= backServer.durationMs,
    `durations nest: ${mine.durationMs} ≥ ${frontServer.durationMs} ≥ ${frontClient.durationMs} ≥ ${backServer.durationMs}`);

  // stitchTrace puts the pieces back together as one path: caller → front (served, then calling) → back.
  const [root, ...others] = stitchTrace([caller.recentCalls(), { ...backReport }, (await frontPeer.client(TracesContract).recent({}))], mine.traceId);
  assert.equal(others.length, 0, "one root: every hop kept its part");
  const path: string[] = [];
  const walk = (step: TraceStep): void => {
    path.push(`${step.node} ${step.call.kind} ${step.call.service}.${step.call.method}`);
    assert.ok(step.children.length <= 1, "one call at each hop");
    step.children.forEach(walk);
  };
  walk(root!);
  assert.deepEqual(path, ["caller client obs.front.relay", "front server obs.front.relay", "front client obs.back.work", "back server obs.back.work"]);

  // A failure is kept with its code; tools' own calls (amoeba.*) are not kept at all.
  await assert.rejects(caller.client(Front).relay({ mode: "not-found" }), (error) => isRpcError(error) && error.code === "NOT_FOUND");
  const latest = (await backPeer.client(TracesContract).recent({ limit: 10 })).calls;
  assert.equal(latest[0]?.code, "NOT_FOUND", "the newest call on the back is the failed one");
  assert.ok(latest.every((call) => !call.service.startsWith("amoeba.")), "built-in services are left out");
});

test("a caller's traceparent is kept: the first call's parent is the caller's span", async () => {
  const node = await startNode({ name: "solo", logger: silent, traces: { recent: 10, otel: false } });
  try {
    node.serve(Front, { relay: ({ mode }) => mode });
    const traceparent = formatTraceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1);
    assert.equal(await node.client(Front).relay({ mode: "ok" }, { meta: { traceparent } }), "ok");
    const calls = node.recentCalls({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736" }).calls;
    const client = calls.find((call) => call.kind === "client")!;
    const server = calls.find((call) => call.kind === "server")!;
    assert.equal(client.parentSpanId, "00f067aa0ba902b7");
    assert.equal(server.parentSpanId, client.spanId, "in-process calls are traced on both sides too");
  } finally {
    await node.close({ timeout: 500 });
  }
});

const Who = contract("obs.who", "1.0.0", {
  name: unary({ input: z.object({}), output: z.string(), idempotent: true }),
});

test("a retried call is one client entry: its attempts counted, its peer the node that answered", async (t) => {
  const failing = await startNode({ name: "a", listen: "tcp://127.0.0.1:0", logger: silent });
  const working = await startNode({ name: "b", listen: "tcp://127.0.0.1:0", logger: silent });
  const caller = await startNode({ name: "caller", logger: silent, traces: { recent: 20, otel: false } });
  t.after(() => Promise.all([caller, failing, working].map((node) => node.close({ timeout: 500 }))));
  failing.serve(Who, {
    name: () => {
      throw new RpcError("UNAVAILABLE", "a is failing");
    },
  });
  working.serve(Who, { name: () => "b" });
  await caller.connect(failing.addresses[0]!);
  await caller.connect(working.addresses[0]!);
  const who = caller.client(Who, { balance: { strategy: "round-robin" } });
  for (let i = 0; i < 6; i++) assert.equal(await who.name({}), "b");
  const calls = caller.recentCalls().calls;
  assert.equal(calls.length, 6, "one entry per call, however many attempts");
  assert.ok(calls.every((call) => call.kind === "client" && call.code === "OK" && call.peer === "b"), JSON.stringify(calls));
  assert.ok(calls.some((call) => call.attempts === 2), `some call was retried: attempts ${calls.map((call) => call.attempts).join(", ")}`);
});

const Counter = contract("obs.counter", "1.0.0", {
  count: stream({ input: z.object({ to: z.number() }), output: z.number() }),
});

test("a stream is one call on each side: kept when it ends, as CANCELLED when the reader leaves early", async () => {
  const node = await startNode({ name: "streams", logger: silent, traces: { recent: 10, otel: false } });
  try {
    node.serve(Counter, {
      async *count({ to }, ctx) {
        for (let i = 1; i <= to && !ctx.signal.aborted; i++) yield i;
      },
    });
    const counter = node.client(Counter);
    const all: number[] = [];
    for await (const n of counter.count({ to: 3 })) all.push(n);
    assert.deepEqual(all, [1, 2, 3]);
    const whole = node.recentCalls().calls;
    assert.deepEqual(whole.map((call) => [call.kind, call.code]).sort(), [["client", "OK"], ["server", "OK"]]);

    for await (const n of counter.count({ to: 1_000 })) if (n === 2) break;
    const left = await eventuallyCalls(node, 4);
    const [client, server] = [left.find((call) => call.kind === "client")!, left.find((call) => call.kind === "server")!];
    assert.equal(client.code, "CANCELLED", "the reader left: the client side ends CANCELLED");
    assert.equal(server.code, "CANCELLED", "the server side sees the cancellation");
    assert.equal(server.parentSpanId, client.spanId);
  } finally {
    await node.close({ timeout: 500 });
  }
});

/** The node's recent calls once it holds `count` of them (a cancelled stream ends on the server a moment later). */
function eventuallyCalls(node: Awaited<ReturnType<typeof startNode>>, count: number): Promise<RecentCall[]> {
  return eventually(`${count} recent calls`, async () => {
    const calls = node.recentCalls().calls;
    return calls.length >= count ? calls.slice(0, 2) : undefined;
  });
}

test("amoeba.traces refuses a bad query with INVALID_ARGUMENT; a node without the ring answers with none", async () => {
  const node = await startNode({ name: "plain", listen: "tcp://127.0.0.1:0", logger: silent });
  const peer = await connect(node.addresses[0]!, { logger: silent });
  try {
    const traces = peer.client(TracesContract);
    for (const query of [{ traceId: "not-hex" }, { limit: 0 }, { limit: 1.5 }, { extra: 1 }] as never[]) {
      await assert.rejects(traces.recent(query), (error) => error instanceof RpcError && error.code === "INVALID_ARGUMENT", JSON.stringify(query));
    }
    const report = await traces.recent({});
    assert.deepEqual([report.node, report.capacity, report.calls], ["plain", 0, []]);
    assert.equal(nodeInternals(node).tracer, null, "a node with no ring and no OpenTelemetry SDK registered traces nothing");
  } finally {
    await peer.close();
    await node.close({ timeout: 500 });
  }
});

test("traces options are checked: a bad ring size or otel flag is a TypeError", async () => {
  for (const traces of [{ recent: -1 }, { recent: 1.5 }, { recent: 1_000_001 }, { otel: "yes" }] as never[]) {
    await assert.rejects(startNode({ logger: silent, traces }), TypeError, JSON.stringify(traces));
  }
});

test("the ring keeps the newest calls, newest first, and filters by trace id", () => {
  const ring = new RecentCalls(3);
  const call = (i: number): RecentCall => ({
    traceId: i % 2 === 0 ? "a".repeat(32) : "b".repeat(32),
    spanId: i.toString(16).padStart(16, "0"),
    parentSpanId: null,
    kind: "server",
    service: "s",
    method: "m",
    peer: "p",
    start: i,
    durationMs: 1,
    code: "OK",
  });
  for (let i = 1; i <= 5; i++) ring.add(call(i));
  assert.deepEqual(ring.list().map((c) => c.start), [5, 4, 3]);
  assert.deepEqual(ring.list({ limit: 2 }).map((c) => c.start), [5, 4]);
  assert.deepEqual(ring.list({ traceId: "a".repeat(32) }).map((c) => c.start), [4]);
});

test("traceparent: parsed by the W3C rules, formatted back", () => {
  const value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  assert.deepEqual(parseTraceparent(value), { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", flags: 1 });
  assert.equal(formatTraceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1), value);
  for (const bad of [undefined, "", "garbage", value.toUpperCase(), `${value}-x`, value.replace("00-", "ff-"), `00-${"0".repeat(32)}-00f067aa0ba902b7-01`, `00-4bf92f3577b34da6a3ce929d0e0e4736-${"0".repeat(16)}-01`]) {
    assert.equal(parseTraceparent(bad), null, String(bad));
  }
  // A later version may carry more fields; its first four still count.
  assert.equal(parseTraceparent(`01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra`)?.spanId, "00f067aa0ba902b7");
});

test("stitchTrace: a missing part leaves two roots; an entry read twice counts once; other traces are left out", () => {
  const traceId = "c".repeat(32);
  const entry = (spanId: string, parentSpanId: string | null, start: number, kind: "client" | "server" = "server"): RecentCall => ({
    traceId,
    spanId: spanId.repeat(16),
    parentSpanId: parentSpanId === null ? null : parentSpanId.repeat(16),
    kind,
    service: "s",
    method: "m",
    peer: "p",
    start,
    durationMs: 1,
    code: "OK",
  });
  const report = (node: string, calls: RecentCall[]) => ({ node, nodeId: node, cluster: "c", capacity: 10, calls });
  // a → b; c's parent "d" was not kept anywhere.
  const roots = stitchTrace(
    [report("x", [entry("a", null, 1, "client"), { ...entry("e", null, 0), traceId: "d".repeat(32) }]), report("y", [entry("b", "a", 2), entry("c", "d", 3)]), report("y", [entry("b", "a", 2)])],
    traceId,
  );
  assert.deepEqual(roots.map((root) => [root.node, root.call.spanId[0], root.children.map((child) => child.call.spanId[0])]), [["x", "a", ["b"]], ["y", "c", []]]);
});
