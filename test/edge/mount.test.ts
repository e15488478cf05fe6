// The edge mounted in servers it does not own: a node:http server of one's
// own (with WebSockets through its upgrade event), a Connect/Express-style
// chain where paths the edge does not know go on to `next`, a real Express app
// (with and without express.json() before it), Fastify, and
// Hono through the fetch-style handler — each calling real services, a
// Server-Sent Events stream included.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { WebSocket } from "ws";
import { createEdge, type Edge } from "../../src/edge/index.ts";
import { startNode, type Node } from "../../src/index.ts";
import { recordingLogger } from "../conformance/helpers.ts";
import { http, newSeen, Shop, shopHandlers, Vault } from "./fixture.ts";

/** Closes a test's server, its keep-alive connections too. */
function closeServer(server: ReturnType<typeof createServer>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}

describe("edge: mounted in other servers", { timeout: 100_000 }, () => {
  let node: Node;
  let edge: Edge;
  before(async () => {
    node = await startNode({ name: "mount-node", logger: recordingLogger() });
    node.serve(Shop, shopHandlers(newSeen()));
    node.serve(Vault, { open: () => "gold", peek: () => "a glimpse" });
    edge = await createEdge({ node, rateLimit: false });
  });
  after(async () => {
    await edge.close();
    await node.close({ timeout: 1_000 });
  });

  it("answers in a node:http server of one's own, beside its other routes, WebSockets included", { timeout: 20_000 }, async (t) => {
    const server = createServer((request, response) => {
      if (request.url === "/hello") return void response.end("hello from the app");
      edge.handle(request, response);
    }).on("upgrade", edge.upgrade);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.equal((await http(url, "/hello")).text, "hello from the app");
    const sum = await http(url, "/rpc/shop/add", { method: "POST", body: { a: 1, b: 2 } });
    assert.equal(sum.status, 200);
    assert.equal(sum.json, 3);
    assert.equal((await http(url, "/nothing")).status, 404, "the edge answers what no one else does");
    const ws = new WebSocket(`${url.replace("http", "ws")}/jsonrpc`);
    try {
      await once(ws, "open");
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "shop.add", params: { a: 2, b: 3 } }));
      const [message] = (await once(ws, "message")) as [Buffer];
      assert.deepEqual(JSON.parse(message.toString()), { jsonrpc: "2.0", id: 1, result: 5 });
    } finally {
      ws.close();
      if (ws.readyState !== WebSocket.CLOSED) await once(ws, "close");
      await closeServer(server);
    }
  });

  it("passes what it does not route to the next handler, as Express and Connect middleware do", async (t) => {
    // A Connect-style chain: the mount strips its prefix, as app.use("/amoeba", edge.handle) does.
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const next = (): void => {
        response.statusCode = 418;
        response.end("the app's own 404");
      };
      if (!request.url!.startsWith("/amoeba/")) return next();
      request.url = request.url!.slice("/amoeba".length);
      edge.handle(request, response, next);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    t.after(() => closeServer(server));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.equal((await http(url, "/amoeba/rpc/shop/add", { method: "POST", body: { a: 4, b: 5 } })).json, 9);
    const other = await http(url, "/amoeba/somewhere-else");
    assert.equal(other.status, 418);
    assert.equal(other.text, "the app's own 404");
  });

  it("answers in a real Express app, mounted at a path, before or after express.json() has read the body", async (t) => {
    const app = express();
    // An application that parses JSON bodies for every route, as most do; the edge takes what it parsed.
    app.use(express.json());
    app.get("/app", (_request, response) => void response.json({ from: "express" }));
    app.use("/amoeba", edge.handle);
    app.use((_request, response) => void response.status(404).type("text").send("express's own 404"));
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    t.after(() => closeServer(server));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.deepEqual((await http(url, "/app")).json, { from: "express" });
    const sum = await http(url, "/amoeba/rpc/shop/add", { method: "POST", body: { a: 20, b: 22 } });
    assert.deepEqual([sum.status, sum.json], [200, 42], sum.text);
    const invalid = await http(url, "/amoeba/rpc/shop/add", { method: "POST", body: { a: "twenty" } });
    assert.equal(invalid.status, 400, "the schema still applies to a body Express parsed");
    assert.equal(invalid.json.error.code, "INVALID_ARGUMENT");
    const rpc = await http(url, "/amoeba/jsonrpc", { method: "POST", body: { jsonrpc: "2.0", id: 7, method: "shop.add", params: { a: 1, b: 1 } } });
    assert.deepEqual(rpc.json, { jsonrpc: "2.0", id: 7, result: 2 });
    assert.equal((await http(url, "/amoeba/openapi.json")).json.openapi.startsWith("3."), true);
    const other = await http(url, "/amoeba/nowhere");
    assert.deepEqual([other.status, other.text], [404, "express's own 404"], "what the edge does not route goes on to Express");

    // Mounted before any body parser, the edge reads the body itself.
    const bare = express();
    bare.use("/amoeba", edge.handle);
    const bareServer = bare.listen(0, "127.0.0.1");
    await once(bareServer, "listening");
    t.after(() => closeServer(bareServer));
    const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`;
    assert.equal((await http(bareUrl, "/amoeba/rpc/shop/add", { method: "POST", body: { a: 2, b: 3 } })).json, 5);

    // A middleware that swallows the body and keeps nothing: a plain 500 that says what to do, at once.
    const greedy = express();
    greedy.use((request, _response, next) => {
      request.resume();
      request.on("end", () => next());
    });
    greedy.use("/amoeba", edge.handle);
    const greedyServer = greedy.listen(0, "127.0.0.1");
    await once(greedyServer, "listening");
    t.after(() => closeServer(greedyServer));
    const lost = await http(`http://127.0.0.1:${(greedyServer.address() as AddressInfo).port}`, "/amoeba/rpc/shop/add", { method: "POST", body: { a: 2, b: 3 } });
    assert.equal(lost.status, 500);
    assert.match(lost.text, /read before the edge and not kept: mount the edge before the middleware that reads bodies/);
  });

  it("answers in Fastify through the raw request and reply", async (t) => {
    const app = Fastify();
    app.get("/app", async () => ({ from: "fastify" }));
    app.all("/rpc/*", (request, reply) => {
      reply.hijack();
      edge.handle(request.raw, reply.raw);
    });
    // Fastify parses JSON bodies itself; the edge reads its own.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", (_request, _payload, done) => done(null));
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    t.after(() => app.close());
    assert.deepEqual((await http(url, "/app")).json, { from: "fastify" });
    const sum = await http(url, "/rpc/shop/add", { method: "POST", body: { a: 10, b: 11 } });
    assert.equal(sum.status, 200, sum.text);
    assert.equal(sum.json, 21);
  });

  it("answers Fetch API requests in Hono, streams and errors included", async () => {
    const app = new Hono();
    app.get("/", (c) => c.text("the app"));
    app.all("/amoeba/*", (c) => edge.fetch(c.req.raw, { basePath: "/amoeba", clientAddress: () => "192.0.2.7" }));
    assert.equal(await (await app.request("/")).text(), "the app");
    const sum = await app.request("/amoeba/rpc/shop/add", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ a: 20, b: 22 }) });
    assert.equal(sum.status, 200);
    assert.equal(sum.headers.get("content-type"), "application/json");
    assert.equal(await sum.json(), 42);
    const failed = await app.request("/amoeba/rpc/shop/fail", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "NOT_FOUND", message: "no such tea" }) });
    assert.equal(failed.status, 404);
    assert.deepEqual(((await failed.json()) as { error: { code: string } }).error.code, "NOT_FOUND");
    const stream = await app.request("/amoeba/rpc/shop/count", { method: "POST", headers: { "content-type": "application/json", accept: "text/event-stream" }, body: JSON.stringify({ to: 3 }) });
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get("content-type") ?? "", /^text\/event-stream/);
    const text = await stream.text();
    assert.match(text, /^data: 1\n\n(?:.*\n)*?data: 2\n\n(?:.*\n)*?data: 3\n\n/m, text);
    assert.match(text, /event: end/);
    const openapi = await edge.fetch(new Request("http://example.test/openapi.json"));
    assert.equal(((await openapi.json()) as { openapi: string }).openapi, "3.1.0");
  });

  it("cancels a stream's call when the fetch reader goes away", async () => {
    const response = await edge.fetch(
      new Request("http://example.test/rpc/shop/forever", { method: "POST", headers: { "content-type": "application/json", accept: "text/event-stream" }, body: "{}" }),
    );
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /data: /);
    await reader.cancel();
    // The call's end shows as no calls in flight on the node.
    const until = Date.now() + 5_000;
    while (node.admission.inFlight > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(node.admission.inFlight, 0);
  });
});
