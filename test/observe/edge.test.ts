// The edge passes an HTTP caller's traceparent on: the edge's call and the backend's are
// children of the caller's span in the recent-calls rings, over a real HTTP request and TCP;
// an edge that starts its own node traces through it with `traces`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { contract, startNode, unary } from "../../src/index.ts";
import { startEdge } from "../../src/edge/index.ts";
import { formatTraceparent } from "../../src/rpc/traceparent.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const Relay = contract("obs.relay", "1.0.0", { relay: unary({ input: z.object({ mode: z.string() }), output: z.string() }) }, { public: true });

test("a traceparent header becomes the parent of the edge's call, whose span the backend's call is a child of", async (t) => {
  const backend = await startNode({ name: "backend", listen: "tcp://127.0.0.1:0", logger: silent, traces: { recent: 10, otel: false } });
  backend.serve(Relay, { relay: ({ mode }) => `relayed ${mode}` });
  const edgeNode = await startNode({ name: "edge-node", logger: silent, traces: { recent: 10, otel: false } });
  const edge = await startEdge({ node: edgeNode, port: 0, connect: [backend.addresses[0]!], logger: silent });
  t.after(async () => {
    await edge.close();
    await Promise.all([edgeNode.close({ timeout: 500 }), backend.close({ timeout: 500 })]);
  });

  const traceId = "0af7651916cd43dd8448eb211c80319c";
  const callerSpan = "b7ad6b7169203331";
  const response = await fetch(`${edge.url}/rpc/obs.relay/relay`, {
    method: "POST",
    headers: { "content-type": "application/json", traceparent: formatTraceparent(traceId, callerSpan, 1) },
    body: JSON.stringify({ mode: "ok" }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(await response.json(), "relayed ok");

  const [edgeCall] = edgeNode.recentCalls({ traceId }).calls;
  const [served] = backend.recentCalls({ traceId }).calls;
  assert.ok(edgeCall && served, "both nodes kept the call under the caller's trace id");
  assert.deepEqual([edgeCall.kind, edgeCall.parentSpanId, edgeCall.peer], ["client", callerSpan, "backend"]);
  assert.deepEqual([served.kind, served.parentSpanId, served.peer], ["server", edgeCall.spanId, "edge-node"]);
});

test("startEdge({ traces }) gives the edge's own node a ring: it keeps the calls it makes for HTTP callers", async (t) => {
  const backend = await startNode({ name: "backend", listen: "tcp://127.0.0.1:0", logger: silent });
  backend.serve(Relay, { relay: ({ mode }) => `relayed ${mode}` });
  const edge = await startEdge({ name: "traced-edge", port: 0, connect: [backend.addresses[0]!], logger: silent, traces: { recent: 10, otel: false } });
  t.after(async () => {
    await edge.close();
    await backend.close({ timeout: 500 });
  });

  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const response = await fetch(`${edge.url}/rpc/obs.relay/relay`, {
    method: "POST",
    headers: { "content-type": "application/json", traceparent: formatTraceparent(traceId, "00f067aa0ba902b7", 1) },
    body: JSON.stringify({ mode: "kept" }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(await response.json(), "relayed kept");
  const report = edge.node.recentCalls({ traceId });
  assert.deepEqual([report.node, report.capacity], ["traced-edge", 10]);
  assert.deepEqual(report.calls.map((call) => [call.kind, call.method, call.parentSpanId, call.peer, call.code]), [["client", "relay", "00f067aa0ba902b7", "backend", "OK"]]);
});
