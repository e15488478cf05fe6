// JSON-RPC over WebSocket beyond plain JSON-RPC: a per-call deadline and
// metadata (the "amoeba" member), response metadata, client and
// bidirectional streams with credit both ways, and bad input against all of
// it (unknown ids, malformed control messages, a client ignoring its credit,
// a socket closed mid-stream).
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { within } from "../conformance/helpers.ts";
import { jsonrpc, startShopEdge } from "./fixture.ts";
import { openSocket, type TestSocket } from "./ws-client.ts";

describe("edge: WebSocket calls and streams", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  let ws: TestSocket;
  beforeEach(async () => {
    t = await startShopEdge({ maxTimeout: 1_000, limits: { inputStreamWindow: 4 } });
    ws = await openSocket(t.url);
  });
  afterEach(async () => {
    ws.close();
    await t.close();
  });

  const call = (id: number, method: string, extra: Record<string, unknown> = {}) => ws.send({ jsonrpc: "2.0", id, method, ...extra });
  const control = (method: string, params: unknown, id?: number) => ws.send({ jsonrpc: "2.0", method, params, ...(id === undefined ? {} : { id }) });
  const response = async (id: number) => (await ws.until(id)).at(-1);

  describe("deadline and metadata", () => {
    it("applies amoeba.timeout as the call's deadline: DEADLINE_EXCEEDED, and the handler's signal fires", async () => {
      call(1, "shop.sleep", { params: { ms: 60_000 }, amoeba: { timeout: 100 } });
      const answer = await response(1);
      assert.equal(answer.error.data.code, "DEADLINE_EXCEEDED");
      assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "DEADLINE_EXCEEDED");
    });

    it("caps a deadline at maxTimeout", async () => {
      call(1, "shop.sleep", { params: { ms: 60_000 }, amoeba: { timeout: 3_600_000 } });
      assert.equal((await response(1)).error.data.code, "DEADLINE_EXCEEDED");
    });

    it("passes the client's metadata to the handler, and returns the handler's response metadata", async () => {
      call(1, "shop.echoMeta", { params: { set: { "x-served-by": "shop-node" } }, amoeba: { meta: { "x-request-id": "r-1" } } });
      const answer = await response(1);
      assert.equal(answer.result["x-request-id"], "r-1");
      assert.deepEqual(answer.amoeba, { meta: { "x-served-by": "shop-node" } });
    });

    it("refuses malformed or reserved metadata and a malformed amoeba member, and keeps serving", async () => {
      const bad: unknown[] = [
        { meta: { "amoeba-caller": "root" } },
        { meta: { "X-Upper": "v" } },
        { meta: { "x-n": 5 } },
        { meta: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])) },
        { meta: ["x"] },
        { timeout: 0 },
        { timeout: "soon" },
        { credit: 0 },
        { credit: 1e9 },
        5,
        null,
      ];
      for (const [i, amoeba] of bad.entries()) {
        call(i + 1, "shop.echoMeta", { params: {}, amoeba });
        const answer = await response(i + 1);
        assert.equal(answer.error?.code, -32602, JSON.stringify(amoeba));
      }
      call(100, "shop.add", { params: { a: 1, b: 2 } });
      assert.equal((await response(100)).result, 3);
    });

    it("takes the same deadline and metadata over HTTP JSON-RPC, per request of a batch", async () => {
      const answer = await jsonrpc(t.url, [
        { jsonrpc: "2.0", id: 1, method: "shop.sleep", params: { ms: 60_000 }, amoeba: { timeout: 100 } },
        { jsonrpc: "2.0", id: 2, method: "shop.echoMeta", params: { set: { "x-a": "b" } }, amoeba: { meta: { "x-k": "v" } } },
      ]);
      const byId = Object.fromEntries(answer.json.map((r: { id: number }) => [r.id, r]));
      assert.equal(byId[1].error.data.code, "DEADLINE_EXCEEDED");
      assert.equal(byId[2].result["x-k"], "v");
      assert.deepEqual(byId[2].amoeba, { meta: { "x-a": "b" } });
    });
  });

  describe("client and bidirectional streams", () => {
    it("a client stream: the edge grants credit, takes amoeba.send items and amoeba.end, then answers", async () => {
      call(1, "shop.sum");
      assert.deepEqual(await ws.next(), { jsonrpc: "2.0", method: "amoeba.credit", params: { id: 1, credit: 4 } });
      for (const n of [1, 2, 3]) control("amoeba.send", { id: 1, item: n });
      control("amoeba.end", { id: 1 });
      assert.equal((await response(1)).result, 6);
    });

    it("more items than the window, sent as credit comes back", async () => {
      call(1, "shop.sum");
      let credit = 0;
      let sent = 0;
      let total = 0;
      // Bounded: 40 items, each waiting for credit at most 10 s.
      while (sent < 40) {
        if (credit === 0) {
          const message = await ws.next();
          assert.equal(message.method, "amoeba.credit");
          credit += message.params.credit;
          continue;
        }
        sent++;
        credit--;
        total += sent;
        control("amoeba.send", { id: 1, item: sent });
      }
      control("amoeba.end", { id: 1 });
      const messages = await ws.until(1);
      assert.equal(messages.at(-1).result, total);
    });

    it("a bidirectional stream: items both ways, then the count and the response metadata", async () => {
      call(1, "shop.double");
      assert.equal((await ws.next()).method, "amoeba.credit");
      for (const n of [1, 2, 3]) control("amoeba.send", { id: 1, item: n });
      control("amoeba.end", { id: 1 });
      const messages = await ws.until(1);
      assert.deepEqual(messages.filter((m) => m.method === "amoeba.item").map((m) => m.params.item), [2, 4, 6]);
      assert.deepEqual(messages.at(-1).result, { items: 3 });
      assert.deepEqual(messages.at(-1).amoeba, { meta: { "x-doubled": "3" } });
    });

    it("with amoeba.credit, the edge sends no more result items than the client granted", async () => {
      call(1, "shop.count", { params: { to: 30 }, amoeba: { credit: 5 } });
      const first = [];
      for (let i = 0; i < 5; i++) first.push((await ws.next()).params.item);
      assert.deepEqual(first, [1, 2, 3, 4, 5]);
      // The next message is what answers this ping, not a sixth item.
      call(2, "shop.add", { params: { a: 1, b: 1 } });
      assert.deepEqual(await ws.next(), { jsonrpc: "2.0", id: 2, result: 2 });
      control("amoeba.credit", { id: 1, credit: 25 });
      const rest = await ws.until(1);
      assert.deepEqual(rest.filter((m) => m.method === "amoeba.item").map((m) => m.params.item), Array.from({ length: 25 }, (_, i) => i + 6));
      assert.deepEqual(rest.at(-1).result, { items: 30 });
    });
  });

  describe("bad input", () => {
    it("refuses params on a stream-input call, and control messages for unknown or unsuitable calls", async () => {
      call(1, "shop.sum", { params: [1, 2] });
      assert.equal((await response(1)).error.code, -32602);
      control("amoeba.send", { id: 999, item: 1 }, 2);
      const unknown = await response(2);
      assert.equal(unknown.error.code, -32602);
      assert.equal(unknown.error.data.code, "NOT_FOUND");
      // A notification to an unknown call is dropped; the socket serves on.
      control("amoeba.send", { id: 999, item: 1 });
      control("amoeba.end", { id: "nope" });
      call(3, "shop.sleep", { params: { ms: 60_000 } });
      // Once a later call is answered, call 3 is in flight.
      call(30, "shop.add", { params: { a: 0, b: 0 } });
      assert.equal((await response(30)).result, 0);
      control("amoeba.send", { id: 3, item: 1 }, 4);
      assert.match((await response(4)).error.message, /takes no input stream/);
      control("amoeba.credit", { id: 3, credit: 5 }, 5);
      assert.match((await response(5)).error.message, /not opened with/);
      for (const [i, params] of [undefined, null, 7, { id: {} }, { id: 3, credit: -1 }].entries()) {
        control("amoeba.credit", params, 10 + i);
        assert.equal((await response(10 + i)).error.code, -32602, JSON.stringify(params));
      }
      control("amoeba.cancel", { id: 3 });
      assert.equal((await response(3)).error.data.code, "CANCELLED");
      call(20, "shop.add", { params: { a: 2, b: 2 } });
      assert.equal((await response(20)).result, 4);
    });

    it("refuses amoeba.send without an item, and after amoeba.end", async () => {
      call(1, "shop.hold");
      await ws.next(); // the credit
      control("amoeba.send", { id: 1 }, 2);
      assert.equal((await response(2)).error.code, -32602);
      control("amoeba.end", { id: 1 });
      control("amoeba.send", { id: 1, item: 1 }, 3);
      assert.equal((await response(3)).error.data.code, "FAILED_PRECONDITION");
    });

    it("fails the call of a client that sends more than its credit with RESOURCE_EXHAUSTED; the handler's signal fires", async () => {
      call(1, "shop.hold");
      await ws.next(); // the credit: 4
      // Far more than the window and what the call buffers behind it.
      for (let i = 0; i < 500; i++) control("amoeba.send", { id: 1, item: i });
      const answer = await response(1);
      assert.equal(answer.error.data.code, "RESOURCE_EXHAUSTED");
      assert.ok(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"));
      call(2, "shop.add", { params: { a: 1, b: 2 } });
      assert.equal((await response(2)).result, 3);
    });

    it("cancels a client stream whose socket closes mid-stream: the handler's signal fires", async () => {
      call(1, "shop.hold");
      await ws.next();
      control("amoeba.send", { id: 1, item: 1 });
      ws.close();
      assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "CANCELLED");
    });

    it("closes a socket that sends invalid UTF-8 as text (1007), cancelling its calls, and serves other sockets", async () => {
      call(1, "shop.hold");
      await ws.next();
      ws.ws.send(Buffer.from([0x22, 0xff, 0xfe, 0x22]), { binary: false });
      assert.equal(await within(ws.closed, 10_000, "the socket closes"), 1007);
      assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "CANCELLED");
      const other = await openSocket(t.url);
      other.send({ jsonrpc: "2.0", id: 1, method: "shop.add", params: { a: 1, b: 2 } });
      assert.equal((await other.next()).result, 3);
      other.close();
    });

    it("closes the socket with 1009 on an amoeba.send larger than maxWebSocketMessage", async () => {
      call(1, "shop.sum");
      await ws.next();
      control("amoeba.send", { id: 1, item: "x".repeat(2 * 1024 * 1024) });
      assert.equal(await within(ws.closed, 10_000, "the socket closes"), 1009);
    });
  });
});
