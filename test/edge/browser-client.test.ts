// The browser client (amoeba/browser) run on Node with the ws package's
// WebSocket: typed exactly as a node's client, and its failures — a socket
// that cannot open, an edge that closes mid-call, a deadline already past, a
// signal already aborted, an input stream that throws, and a hostile edge
// sending garbage, unknown ids and more items than granted.
import assert from "node:assert/strict";
import { once } from "node:events";
import { afterEach, beforeEach, describe, it } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { connectEdge, RpcError, type EdgeConnection } from "../../src/browser/index.ts";
import type { Client } from "../../src/index.ts";
import { rejection, within } from "../conformance/helpers.ts";
import { Shop, startShopEdge } from "./fixture.ts";

// The ws package's WebSocket fits the client's WebSocketLike as it is.
const NodeWebSocket = WebSocket;

describe("amoeba/browser on Node", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  let edge: EdgeConnection;
  beforeEach(async () => {
    t = await startShopEdge({ authenticate: (token) => (token === "good" ? "page-user" : null) });
    edge = await connectEdge(t.url, { WebSocket: NodeWebSocket, token: "good" });
  });
  afterEach(async () => {
    edge.close();
    await t.close();
  });

  it("is typed as a node's client of the same contract", async () => {
    // The very type a node's client() returns.
    const shop: Client<typeof Shop> = edge.client(Shop);
    const sum: number = await shop.add({ a: 2, b: 3 });
    assert.equal(sum, 5);
    const who = await shop.whoami({});
    assert.equal(who.caller, "page-user");
    // @ts-expect-error a is a number
    await rejection(shop.add({ a: "x", b: 3 }));
    const items: number[] = [];
    for await (const n of shop.count({ to: 3 })) items.push(n);
    assert.deepEqual(items, [1, 2, 3]);
  });

  it("fails with UNAVAILABLE when the socket cannot open: a refused token, no edge there", async () => {
    const refused = await rejection(connectEdge(t.url, { WebSocket: NodeWebSocket, token: "bad" }));
    assert.equal(refused.code, "UNAVAILABLE");
    assert.doesNotMatch(refused.message, /bad/, "the token is not repeated in the message");
    const nobody = await rejection(connectEdge("http://127.0.0.1:1", { WebSocket: NodeWebSocket, connectTimeout: 5_000 }));
    assert.equal(nobody.code, "UNAVAILABLE");
  });

  it("refuses a bad address or credit with a TypeError", async () => {
    await assert.rejects(connectEdge("ftp://127.0.0.1/", { WebSocket: NodeWebSocket }), TypeError);
    await assert.rejects(connectEdge(t.url, { WebSocket: NodeWebSocket, credit: 0 }), TypeError);
  });

  it("fails calls in flight with UNAVAILABLE when the edge closes, and calls made after it at once", async () => {
    const shop = edge.client(Shop);
    const sleeping = shop.sleep({ ms: 60_000 });
    await within(
      (async () => {
        // Bounded: the call is in flight once the edge's handler started; poll a few ms at a time.
        while (edge.pending === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      10_000,
      "the call is in flight",
    );
    const closing = t.edge.close();
    assert.equal((await rejection(sleeping)).code, "UNAVAILABLE");
    await closing;
    assert.equal(edge.isOpen, false);
    assert.equal((await rejection(shop.add({ a: 1, b: 1 }))).code, "UNAVAILABLE");
    assert.equal((await within(edge.closed, 10_000, "closed resolves")).code, 1001);
  });

  it("fails at once, sending nothing, for a deadline already past or a signal already aborted", async () => {
    const shop = edge.client(Shop);
    assert.equal((await rejection(shop.add({ a: 1, b: 1 }, { deadline: Date.now() - 1 }))).code, "DEADLINE_EXCEEDED");
    assert.equal((await rejection(shop.add({ a: 1, b: 1 }, { signal: AbortSignal.abort() }))).code, "CANCELLED");
    assert.equal(edge.pending, 0);
  });

  it("cancels a client stream whose input throws: CANCELLED here, and the handler's signal fires", async () => {
    const shop = edge.client(Shop);
    async function* broken(): AsyncGenerator<number> {
      yield 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new Error("the source broke");
    }
    const error = await rejection(shop.hold(broken()));
    assert.equal(error.code, "CANCELLED");
    assert.match(error.message, /the source broke/);
    assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "CANCELLED");
  });
});

describe("amoeba/browser against a hostile edge", () => {
  let server: WebSocketServer;
  let url: string;
  beforeEach(async () => {
    server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await once(server, "listening");
    url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/jsonrpc`;
  });
  afterEach(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  it("ignores garbage, unknown ids and stray notifications, and still settles the right call", async () => {
    server.on("connection", (socket) => {
      socket.on("message", (data) => {
        const request = JSON.parse(String(data));
        for (const junk of ["not json", "[1,2", "null", "42", '{"id":"1"}', '{"id":999,"result":1}', '{"method":"amoeba.item","params":{"id":999,"item":1}}', '{"method":"amoeba.credit","params":{"id":1,"credit":"many"}}']) socket.send(junk);
        socket.send(Buffer.from([0xff, 0x00]), { binary: true });
        socket.send(JSON.stringify({ jsonrpc: "2.0", id: request.id, result: 7 }));
      });
    });
    const edge = await connectEdge(url, { WebSocket: NodeWebSocket });
    try {
      assert.equal(await within(edge.client(Shop).add({ a: 3, b: 4 }), 10_000, "the call settles"), 7);
    } finally {
      edge.close();
    }
  });

  it("fails calls in flight with UNAVAILABLE when the edge breaks the WebSocket protocol (invalid UTF-8 text)", async () => {
    server.on("connection", (socket) => {
      socket.on("message", () => socket.send(Buffer.from([0x22, 0xff, 0xfe, 0x22]), { binary: false }));
    });
    const edge = await connectEdge(url, { WebSocket: NodeWebSocket });
    const failure = await rejection(edge.client(Shop).add({ a: 1, b: 1 }));
    assert.equal(failure.code, "UNAVAILABLE");
    // The client fails the connection itself: an abnormal close, no crash.
    assert.notEqual((await within(edge.closed, 10_000, "closed resolves")).code, 1000);
    assert.equal(edge.isOpen, false);
  });

  it("fails a stream whose edge sends more items than granted, and maps an error without a code to UNKNOWN", async () => {
    server.on("connection", (socket) => {
      socket.on("message", (data) => {
        const request = JSON.parse(String(data));
        if (request.method === "shop.count") {
          for (let i = 0; i < 5; i++) socket.send(JSON.stringify({ jsonrpc: "2.0", method: "amoeba.item", params: { id: request.id, item: i } }));
        } else if (request.method === "shop.add") {
          socket.send(JSON.stringify({ jsonrpc: "2.0", id: request.id, error: { code: 12345, message: "odd" } }));
        }
      });
    });
    const edge = await connectEdge(url, { WebSocket: NodeWebSocket, credit: 2 });
    try {
      const shop = edge.client(Shop);
      // Nothing reads the stream until the later call's answer shows all five items arrived.
      const stream = shop.count({ to: 5 });
      const odd = await rejection(shop.add({ a: 1, b: 1 }));
      assert.ok(odd instanceof RpcError);
      assert.equal(odd.code, "UNKNOWN");
      const got: number[] = [];
      const failure = await rejection(
        (async () => {
          for await (const n of stream) got.push(n);
        })(),
      );
      assert.equal(failure.code, "INTERNAL");
      assert.deepEqual(got, [0, 1], "the items within the credit, then the failure");
    } finally {
      edge.close();
    }
  });
});
