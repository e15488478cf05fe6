// JSON-RPC 2.0 at /jsonrpc over HTTP POST: method names service.method,
// batches answered in one array without the notifications, RPC codes in the
// server-error range with data.code, streams refused over plain HTTP.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jsonRpcCode } from "../../src/edge/index.ts";
import { jsonrpc, startShopEdge } from "./fixture.ts";

describe("edge: JSON-RPC over HTTP", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  before(async () => {
    t = await startShopEdge();
  });
  after(() => t.close());

  it("calls a method by service.method", async () => {
    const answer = await jsonrpc(t.url, { jsonrpc: "2.0", id: "a", method: "shop.add", params: { a: 20, b: 22 } });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, { jsonrpc: "2.0", id: "a", result: 42 });
  });

  it("answers a batch in one array, leaving out notifications, each entry with its id", async () => {
    const answer = await jsonrpc(t.url, [
      { jsonrpc: "2.0", id: 1, method: "shop.add", params: { a: 1, b: 1 } },
      { jsonrpc: "2.0", method: "shop.add", params: { a: 5, b: 5 } },
      { jsonrpc: "2.0", id: 2, method: "shop.fail", params: { code: "NOT_FOUND", message: "no such order" } },
      { jsonrpc: "2.0", id: 3, method: "shop.nosuch" },
      { jsonrpc: "1.0", id: 4, method: "shop.add" },
    ]);
    assert.equal(answer.status, 200);
    const byId = new Map<unknown, any>(answer.json.map((entry: { id: unknown }) => [entry.id, entry]));
    assert.equal(answer.json.length, 4);
    assert.equal(byId.get(1).result, 2);
    assert.equal(byId.get(2).error.code, -32005);
    assert.equal(byId.get(2).error.message, "no such order");
    assert.deepEqual(byId.get(2).error.data, { code: "NOT_FOUND", details: { hint: "from the handler" } });
    assert.equal(byId.get(3).error.code, -32601);
    assert.equal(byId.get(4).error.code, -32600);
  });

  it("answers a batch of notifications only with 204 and no body", async () => {
    const answer = await jsonrpc(t.url, [
      { jsonrpc: "2.0", method: "shop.add", params: { a: 1, b: 1 } },
      { jsonrpc: "2.0", method: "shop.crash" },
    ]);
    assert.equal(answer.status, 204);
    assert.equal(answer.text, "");
  });

  it("maps codes: INVALID_ARGUMENT -32602, INTERNAL -32603, others -32000 − n", async () => {
    assert.equal(jsonRpcCode("INVALID_ARGUMENT"), -32602);
    assert.equal(jsonRpcCode("INTERNAL"), -32603);
    assert.equal(jsonRpcCode("UNAVAILABLE"), -32014);
    assert.equal(jsonRpcCode("UNAUTHENTICATED"), -32016);
    const crash = await jsonrpc(t.url, { jsonrpc: "2.0", id: 1, method: "shop.crash" });
    assert.equal(crash.json.error.code, -32603);
    assert.equal(crash.json.error.data.code, "INTERNAL");
    assert.doesNotMatch(crash.text, /hunter2/);
    const denied = await jsonrpc(t.url, { jsonrpc: "2.0", id: 2, method: "shop.fail", params: { code: "PERMISSION_DENIED", message: "not yours" } });
    assert.equal(denied.json.error.code, -32007);
  });

  it("applies X-Timeout to every call of the request", async () => {
    const answer = await jsonrpc(t.url, { jsonrpc: "2.0", id: 1, method: "shop.sleep", params: { ms: 60_000 } }, { "x-timeout": "50" });
    assert.equal(answer.json.error.data.code, "DEADLINE_EXCEEDED");
    assert.equal(answer.json.error.code, -32004);
  });

  it("refuses a server stream over plain HTTP with UNIMPLEMENTED, naming the ways that stream", async () => {
    const answer = await jsonrpc(t.url, { jsonrpc: "2.0", id: 1, method: "shop.count", params: { to: 3 } });
    assert.equal(answer.json.error.data.code, "UNIMPLEMENTED");
    assert.match(answer.json.error.message, /WebSocket|Server-Sent Events/);
  });

  it("refuses a client stream with UNIMPLEMENTED", async () => {
    const answer = await jsonrpc(t.url, { jsonrpc: "2.0", id: 1, method: "shop.sum", params: [[1, 2]] });
    assert.equal(answer.json.error.data.code, "UNIMPLEMENTED");
  });
});
