// GET /metrics on the edge: the edge's node's Prometheus metrics, only when asked for.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startNode } from "../../src/index.ts";
import { startEdge } from "../../src/edge/index.ts";
import { recordingLogger } from "../conformance/helpers.ts";
import { http, newSeen, rpc, Shop, shopHandlers, startShopEdge } from "./fixture.ts";

test("an edge with metrics serves them at /metrics, counting the calls it placed", async (t) => {
  const backend = await startNode({ name: "backend", listen: "tcp://127.0.0.1:0", logger: recordingLogger() });
  t.after(() => backend.close({ timeout: 1_000 }));
  backend.serve(Shop, shopHandlers(newSeen()));
  const edge = await startEdge({ connect: [backend.addresses[0]!], port: 0, rateLimit: false, metrics: true, logger: recordingLogger() });
  t.after(() => edge.close());
  for (let i = 0; i < 3; i++) assert.equal((await rpc(edge.url, "shop.add", { a: i, b: 1 })).json, i + 1);
  const answer = await http(edge.url, "/metrics");
  assert.equal(answer.status, 200);
  assert.match(String(answer.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  assert.match(answer.text, /\namoeba_client_calls_total\{service="shop",method="add",code="OK"\} 3\n/);
  assert.equal((await http(edge.url, "/metrics", { method: "POST", body: {} })).status, 405);
});

test("without metrics, /metrics is an unknown route; metrics on a node that keeps none is refused", async (t) => {
  const plain = await startShopEdge();
  t.after(() => plain.close());
  assert.equal((await http(plain.url, "/metrics")).status, 404);
  const node = await startNode({ name: "no-metrics", logger: recordingLogger() });
  t.after(() => node.close({ timeout: 0 }));
  await assert.rejects(startEdge({ node, port: 0, metrics: true }), /needs a node started with metrics: true/);
});
