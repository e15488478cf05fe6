// Protection at the edge: the auth hook (a bearer token becomes the caller
// handlers see; failing → 401), per-client rate limits (429 + Retry-After),
// CORS, limits on header size, and timeouts for slow clients (slowloris).
import assert from "node:assert/strict";
import { connect as netConnect } from "node:net";
import { after, before, describe, it } from "node:test";
import { RpcError } from "../../src/index.ts";
import { within } from "../conformance/helpers.ts";
import { http, jsonrpc, rpc, startShopEdge } from "./fixture.ts";
import { openSocket, upgradeStatus } from "./ws-client.ts";

const authenticate = async (token: string | null) => {
  if (token === "alice-token") return { id: "alice", meta: { "x-role": "admin" } };
  if (token === "bob-token") return "bob";
  if (token === "banned") throw new RpcError("PERMISSION_DENIED", "this account is suspended");
  if (token === "boom") throw new Error("the user database is down");
  return null;
};

describe("edge: authentication", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  before(async () => {
    t = await startShopEdge({ authenticate });
  });
  after(() => t.close());

  it("refuses a request without a token with 401 and WWW-Authenticate, before saying whether anything exists", async () => {
    for (const target of ["shop.add", "nosuch.method"]) {
      const answer = await rpc(t.url, target, { a: 1, b: 2 });
      assert.equal(answer.status, 401, target);
      assert.equal(answer.json.error.code, "UNAUTHENTICATED");
      assert.match(String(answer.headers["www-authenticate"]), /^Bearer/);
    }
    assert.equal((await http(t.url, "/services")).status, 401);
    assert.equal((await http(t.url, "/openapi.json")).status, 401);
  });

  it("refuses a token the hook does not accept with 401 invalid_token", async () => {
    const answer = await rpc(t.url, "shop.add", { a: 1, b: 2 }, { authorization: "Bearer nope" });
    assert.equal(answer.status, 401);
    assert.match(String(answer.headers["www-authenticate"]), /invalid_token/);
    const basic = await rpc(t.url, "shop.add", { a: 1, b: 2 }, { authorization: "Basic YWxpY2U6eA==" });
    assert.equal(basic.status, 401);
  });

  it("passes the caller to handlers as ctx.meta['amoeba-caller'], with the hook's metadata; a client cannot forge it", async () => {
    const alice = await rpc(t.url, "shop.whoami", {}, { authorization: "Bearer alice-token", "amoeba-caller": "mallory" });
    assert.equal(alice.status, 200);
    assert.deepEqual(alice.json, { caller: "alice", role: "admin" });
    const bob = await rpc(t.url, "shop.whoami", {}, { authorization: "bearer bob-token" });
    assert.deepEqual(bob.json, { caller: "bob", role: null });
  });

  it("answers an RpcError from the hook with its code, and a crash of the hook with 503", async () => {
    const banned = await rpc(t.url, "shop.add", { a: 1, b: 2 }, { authorization: "Bearer banned" });
    assert.equal(banned.status, 403);
    assert.equal(banned.json.error.message, "this account is suspended");
    const boom = await rpc(t.url, "shop.add", { a: 1, b: 2 }, { authorization: "Bearer boom" });
    assert.equal(boom.status, 503);
    assert.doesNotMatch(boom.text, /database/);
  });

  it("applies to JSON-RPC (401 with a JSON-RPC error) and WebSocket (refused upgrade; access_token accepted)", async () => {
    const refused = await jsonrpc(t.url, { jsonrpc: "2.0", id: 1, method: "shop.add", params: { a: 1, b: 2 } });
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error.code, -32016);
    const ok = await jsonrpc(t.url, { jsonrpc: "2.0", id: 1, method: "shop.whoami" }, { authorization: "Bearer bob-token" });
    assert.equal(ok.json.result.caller, "bob");
    assert.equal(await upgradeStatus(t.url), 401);
    const socket = await openSocket(t.url, { path: "/jsonrpc?access_token=alice-token" });
    socket.send({ jsonrpc: "2.0", id: 1, method: "shop.whoami" });
    assert.equal((await socket.next()).result.caller, "alice");
    socket.close();
  });

  it("leaves /healthz open", async () => {
    assert.equal((await http(t.url, "/healthz")).status, 200);
  });
});

describe("edge: rate limits", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  before(async () => {
    // One token a minute: nothing refills during the test.
    t = await startShopEdge({ rateLimit: { perSecond: 1 / 60, burst: 3 }, trustProxy: true, authenticate: async (token) => token ?? "anonymous" });
  });
  after(() => t.close());

  it("answers past the burst with 429 and Retry-After, per client", async () => {
    const headers = { authorization: "Bearer carol" };
    for (let i = 0; i < 3; i++) assert.equal((await rpc(t.url, "shop.add", { a: i, b: 0 }, headers)).status, 200);
    const limited = await rpc(t.url, "shop.add", { a: 1, b: 0 }, headers);
    assert.equal(limited.status, 429);
    assert.equal(limited.json.error.code, "RESOURCE_EXHAUSTED");
    const retryAfter = Number(limited.headers["retry-after"]);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${limited.headers["retry-after"]}`);
    // Another client has its own bucket.
    assert.equal((await rpc(t.url, "shop.add", { a: 1, b: 0 }, { authorization: "Bearer dave" })).status, 200);
  });

  it("counts a JSON-RPC batch as its number of requests", async () => {
    const batch = Array.from({ length: 4 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "shop.add", params: { a: i, b: 0 } }));
    const answer = await jsonrpc(t.url, batch, { authorization: "Bearer erin" });
    assert.equal(answer.status, 429);
    assert.equal(answer.json.error.data.code, "RESOURCE_EXHAUSTED");
    // Three fit.
    const fits = await jsonrpc(t.url, batch.slice(0, 3), { authorization: "Bearer erin" });
    assert.equal(fits.status, 200);
    assert.equal(fits.json.length, 3);
  });

  it("keys anonymous clients by address (X-Forwarded-For when trusted)", async () => {
    const edge = await startShopEdge({ rateLimit: { perSecond: 1 / 60, burst: 1 }, trustProxy: true });
    try {
      assert.equal((await rpc(edge.url, "shop.add", { a: 1, b: 0 }, { "x-forwarded-for": "203.0.113.1" })).status, 200);
      assert.equal((await rpc(edge.url, "shop.add", { a: 1, b: 0 }, { "x-forwarded-for": "203.0.113.1, 10.0.0.1" })).status, 429);
      assert.equal((await rpc(edge.url, "shop.add", { a: 1, b: 0 }, { "x-forwarded-for": "203.0.113.2" })).status, 200);
    } finally {
      await edge.close();
    }
  });
});

describe("edge: CORS", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  before(async () => {
    t = await startShopEdge({ cors: { origins: ["https://app.example"], allowHeaders: ["x-tenant"] } });
  });
  after(() => t.close());

  it("answers an allowed preflight with 204 and the allowed methods and headers", async () => {
    const answer = await http(t.url, "/rpc/shop/add", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    assert.equal(answer.status, 204);
    assert.equal(answer.headers["access-control-allow-origin"], "https://app.example");
    assert.match(String(answer.headers["access-control-allow-methods"]), /POST/);
    assert.match(String(answer.headers["access-control-allow-headers"]), /content-type/);
    assert.match(String(answer.headers["access-control-allow-headers"]), /x-tenant/);
  });

  it("refuses a preflight from another origin with 403 and no allow-origin", async () => {
    const answer = await http(t.url, "/rpc/shop/add", { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    assert.equal(answer.status, 403);
    assert.equal(answer.headers["access-control-allow-origin"], undefined);
  });

  it("marks answers to an allowed origin, and only those", async () => {
    const allowed = await rpc(t.url, "shop.add", { a: 1, b: 2 }, { origin: "https://app.example" });
    assert.equal(allowed.headers["access-control-allow-origin"], "https://app.example");
    assert.equal(allowed.headers.vary, "Origin");
    const other = await rpc(t.url, "shop.add", { a: 1, b: 2 }, { origin: "https://evil.example" });
    assert.equal(other.headers["access-control-allow-origin"], undefined);
  });

  it("lets an allowed origin open a WebSocket", async () => {
    assert.equal(await upgradeStatus(t.url, { headers: { origin: "https://app.example" } }), 101);
    assert.equal(await upgradeStatus(t.url, { headers: { origin: "https://evil.example" } }), 403);
  });
});

describe("edge: slow and oversized clients", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  before(async () => {
    t = await startShopEdge({ limits: { headersTimeout: 300, requestTimeout: 600, maxHeaderSize: 2048 } });
  });
  after(() => t.close());

  /** Opens a raw connection, sends `bytes`, and resolves with what came back once the server closed it. */
  function hold(bytes: string): Promise<string> {
    const { hostname, port } = new URL(t.url);
    return new Promise<string>((resolve, reject) => {
      const socket = netConnect(Number(port), hostname, () => socket.write(bytes));
      let text = "";
      socket.on("data", (chunk) => (text += chunk.toString("latin1")));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
  }

  it("closes a connection whose headers never finish (slowloris), while serving others", async () => {
    const slow = hold("POST /rpc/shop/add HTTP/1.1\r\nHost: edge\r\nX-Slow: ");
    // Others are served while the slow one hangs.
    assert.equal((await rpc(t.url, "shop.add", { a: 1, b: 2 })).json, 3);
    const reply = await within(slow, 15_000, "the edge closes the slow connection");
    assert.ok(reply === "" || /^HTTP\/1\.1 408/.test(reply), `got ${reply.slice(0, 40)}`);
  });

  it("closes a connection whose body never finishes", async () => {
    const slow = hold('POST /rpc/shop/add HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
    const reply = await within(slow, 15_000, "the edge closes the slow connection");
    assert.ok(reply === "" || /^HTTP\/1\.1 408/.test(reply), `got ${reply.slice(0, 40)}`);
    assert.equal((await rpc(t.url, "shop.add", { a: 1, b: 2 })).json, 3);
  });

  it("answers headers larger than maxHeaderSize with 431", async () => {
    const answer = await rpc(t.url, "shop.add", { a: 1, b: 2 }, { "x-big": "y".repeat(4096) });
    assert.equal(answer.status, 431);
    assert.equal((await rpc(t.url, "shop.add", { a: 1, b: 2 })).json, 3);
  });
});
