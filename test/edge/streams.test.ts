// Server streams as Server-Sent Events and as JSON-RPC notifications over a
// WebSocket; cancellation when the client disconnects mid-stream (the
// handler's ctx.signal fires) or asks to cancel; WebSocket garbage and
// oversized messages refused while the edge keeps serving everyone else.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import { deferred, within } from "../conformance/helpers.ts";
import { http, rpc, startShopEdge } from "./fixture.ts";
import { openSocket, upgradeStatus } from "./ws-client.ts";

/** Parses an event stream's text into its events. */
function events(text: string): Array<{ event: string; data: string }> {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "" && !block.startsWith(":"))
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((line) => line.startsWith("event: "))?.slice(7) ?? "message";
      const data = lines.filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n");
      return { event, data };
    });
}

describe("edge: streams", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  beforeEach(async () => {
    t = await startShopEdge({ limits: { maxWebSocketMessage: 16 * 1024, maxWebSocketCalls: 4 } });
  });
  afterEach(() => t.close());

  describe("Server-Sent Events", () => {
    it("streams each item as a data event, then an end event", async () => {
      const answer = await rpc(t.url, "shop.count", { to: 5 });
      assert.equal(answer.status, 200);
      assert.match(String(answer.headers["content-type"]), /^text\/event-stream/);
      const got = events(answer.text);
      assert.deepEqual(got.slice(0, 5).map((e) => [e.event, JSON.parse(e.data)]), [1, 2, 3, 4, 5].map((n) => ["message", n]));
      assert.deepEqual(got[5], { event: "end", data: '{"items":5}' });
      assert.equal(got.length, 6);
    });

    it("serves GET with ?input= for EventSource", async () => {
      const answer = await http(t.url, `/rpc/shop/count?input=${encodeURIComponent(JSON.stringify({ to: 2 }))}`, { headers: { accept: "text/event-stream" } });
      assert.equal(answer.status, 200);
      assert.deepEqual(events(answer.text).map((e) => e.event), ["message", "message", "end"]);
    });

    it("takes the deadline of a GET stream from ?timeout=, and refuses a bad one", async () => {
      const answer = await http(t.url, `/rpc/shop/forever?timeout=100`);
      assert.equal(answer.status, 200);
      const last = events(answer.text).at(-1)!;
      assert.equal(last.event, "error");
      assert.equal(JSON.parse(last.data).code, "DEADLINE_EXCEEDED");
      assert.equal((await http(t.url, `/rpc/shop/forever?timeout=soon`)).status, 400);
    });

    it("answers a stream that fails before its first item with a JSON error and its status", async () => {
      const answer = await rpc(t.url, "shop.count", { to: -1 });
      assert.equal(answer.status, 400);
      assert.equal(answer.json.error.code, "INVALID_ARGUMENT");
    });

    it("cancels the call when the client disconnects mid-stream: the handler's ctx.signal fires", async () => {
      const firstData = deferred<void>();
      const req = httpRequest(`${t.url}/rpc/shop/forever`, { method: "POST", headers: { "content-type": "application/json" }, agent: false }, (res) => {
        res.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("data: ")) firstData.resolve();
        });
        res.on("error", () => {});
      });
      req.on("error", () => {});
      req.end("{}");
      await within(firstData.promise, 10_000, "the first event arrives");
      req.destroy();
      assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "CANCELLED");
      // The edge still serves.
      assert.equal((await rpc(t.url, "shop.add", { a: 1, b: 2 })).json, 3);
    });
  });

  describe("WebSocket JSON-RPC", () => {
    const sockets: Array<{ close(): void }> = [];
    after(() => sockets.forEach((s) => s.close()));

    it("answers unary calls and batches", async () => {
      const socket = await openSocket(t.url);
      sockets.push(socket);
      socket.send({ jsonrpc: "2.0", id: 1, method: "shop.add", params: { a: 1, b: 2 } });
      assert.deepEqual(await socket.next(), { jsonrpc: "2.0", id: 1, result: 3 });
      socket.send([
        { jsonrpc: "2.0", id: "x", method: "shop.add", params: { a: 2, b: 2 } },
        { jsonrpc: "2.0", method: "shop.add", params: { a: 2, b: 2 } },
        { jsonrpc: "2.0", id: "y", method: "vault.open" },
      ]);
      const batch = await socket.next();
      assert.equal(batch.length, 2);
      assert.equal(batch.find((e: { id: string }) => e.id === "x").result, 4);
      assert.equal(batch.find((e: { id: string }) => e.id === "y").error.code, -32601);
    });

    it("streams items as amoeba.item notifications, then the response", async () => {
      const socket = await openSocket(t.url);
      sockets.push(socket);
      socket.send({ jsonrpc: "2.0", id: 9, method: "shop.count", params: { to: 4 } });
      const messages = await socket.until(9);
      assert.deepEqual(
        messages.slice(0, 4).map((m) => [m.method, m.params.id, m.params.item]),
        [1, 2, 3, 4].map((n) => ["amoeba.item", 9, n]),
      );
      assert.deepEqual(messages[4], { jsonrpc: "2.0", id: 9, result: { items: 4 } });
    });

    it("cancels a call on amoeba.cancel: CANCELLED (-32001), and the handler's signal fires", async () => {
      const socket = await openSocket(t.url);
      sockets.push(socket);
      socket.send({ jsonrpc: "2.0", id: "s", method: "shop.forever" });
      await within(t.seen.foreverStarted.promise, 10_000, "the stream starts");
      socket.send({ jsonrpc: "2.0", method: "amoeba.cancel", params: { id: "s" } });
      const messages = await socket.until("s");
      const last = messages.at(-1);
      assert.equal(last.error.code, -32001);
      assert.equal(last.error.data.code, "CANCELLED");
      assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "CANCELLED");
    });

    it("cancels every call of a socket that closes: the handler's signal fires", async () => {
      const socket = await openSocket(t.url);
      socket.send({ jsonrpc: "2.0", id: 1, method: "shop.sleep", params: { ms: 60_000 } });
      // A second call answered proves the first reached the handler (calls on a socket run in order of arrival).
      socket.send({ jsonrpc: "2.0", id: 2, method: "shop.add", params: { a: 1, b: 1 } });
      assert.equal((await socket.next()).id, 2);
      socket.ws.terminate();
      assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "CANCELLED");
    });

    it("answers garbage with -32700 and binary frames with -32600, and keeps the socket", async () => {
      const socket = await openSocket(t.url);
      sockets.push(socket);
      for (const garbage of ["not json", "{", "\u0000\u0001", `${"[".repeat(100)}${"]".repeat(100)}`]) {
        socket.send(garbage);
        const answer = await socket.next();
        assert.equal(answer.error.code, -32700, garbage.slice(0, 10));
        assert.equal(answer.id, null);
      }
      socket.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      assert.equal((await socket.next()).error.code, -32600);
      socket.send({ jsonrpc: "2.0", id: 1, method: "shop.add", params: { a: 1, b: 2 } });
      assert.equal((await socket.next()).result, 3);
    });

    it("closes a socket that sends an oversized message with 1009; others go on", async () => {
      const bystander = await openSocket(t.url);
      sockets.push(bystander);
      const socket = await openSocket(t.url);
      socket.send({ jsonrpc: "2.0", id: 1, method: "shop.add", params: { a: 1, b: 2, pad: "x".repeat(32 * 1024) } });
      assert.equal(await within(socket.closed, 10_000, "the socket closes"), 1009);
      bystander.send({ jsonrpc: "2.0", id: 1, method: "shop.add", params: { a: 1, b: 2 } });
      assert.equal((await bystander.next()).result, 3);
      assert.equal((await rpc(t.url, "shop.add", { a: 1, b: 2 })).json, 3);
    });

    it("refuses a second call with an id in flight, and more calls than maxWebSocketCalls", async () => {
      const socket = await openSocket(t.url);
      sockets.push(socket);
      socket.send({ jsonrpc: "2.0", id: 1, method: "shop.sleep", params: { ms: 60_000 } });
      socket.send({ jsonrpc: "2.0", id: 1, method: "shop.sleep", params: { ms: 60_000 } });
      const duplicate = await socket.next();
      assert.equal(duplicate.error.code, -32600);
      // Calls 1 to 4 fill the socket's four slots; the fifth is refused.
      for (const id of [2, 3, 4, 5]) socket.send({ jsonrpc: "2.0", id, method: "shop.sleep", params: { ms: 60_000 } });
      const tooMany = await socket.next();
      assert.equal(tooMany.id, 5);
      assert.equal(tooMany.error.data.code, "RESOURCE_EXHAUSTED");
    });

    it("refuses an upgrade on another path (404) and from another site's page (403)", async () => {
      assert.equal(await upgradeStatus(t.url, { path: "/elsewhere" }), 404);
      assert.equal(await upgradeStatus(t.url, { headers: { origin: "https://evil.example" } }), 403);
      // The edge's own origin (a page it served) may.
      assert.equal(await upgradeStatus(t.url, { headers: { origin: t.url } }), 101);
    });
  });
});
