// A client that disconnects before its answer cancels the call; closing the
// edge lets requests in flight finish, refuses new connections, closes
// WebSockets with 1001, and leaves a node it did not start open.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { it } from "node:test";
import { within } from "../conformance/helpers.ts";
import { http, rpc, startShopEdge } from "./fixture.ts";
import { openSocket } from "./ws-client.ts";

it("a client that disconnects before a unary answer cancels the call: the handler's signal fires", async () => {
  const t = await startShopEdge();
  try {
    const req = httpRequest(`${t.url}/rpc/shop/sleep`, { method: "POST", headers: { "content-type": "application/json" }, agent: false });
    req.on("error", () => {});
    req.end(JSON.stringify({ ms: 60_000 }));
    // The handler runs once the request is read; then the client leaves.
    await within(
      (async () => {
        for (let i = 0; i < 2_000 && t.node.admission.inFlight === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      15_000,
      "the call reaches the handler",
    );
    assert.equal(t.node.admission.inFlight, 1);
    req.destroy();
    assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "CANCELLED");
    // Calls on other keep-alive connections are untouched.
    assert.equal((await rpc(t.url, "shop.add", { a: 1, b: 2 })).json, 3);
  } finally {
    await t.close();
  }
});

it("close() lets a request in flight finish, closes WebSockets with 1001, refuses new connections, and leaves a given node open", async () => {
  const t = await startShopEdge({ drainTimeout: 10_000 });
  const socket = await openSocket(t.url);
  const slow = rpc(t.url, "shop.sleep", { ms: 300 });
  for (let i = 0; i < 2_000 && t.node.admission.inFlight === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  const closing = t.edge.close();
  assert.equal(await within(socket.closed, 10_000, "the WebSocket closes"), 1001);
  const answer = await slow;
  assert.equal(answer.status, 200);
  assert.equal(answer.json, 300);
  assert.equal(answer.headers.connection, "close");
  await within(closing, 15_000, "the edge closes");
  await assert.rejects(http(t.url, "/healthz"), /ECONNREFUSED/);
  assert.equal(t.node.draining, false);
  await t.node.close();
});
