// Bad input at the edge, each refused with a clear answer while the edge
// keeps serving everyone else: invalid JSON, a wrong content type, a huge
// body, deep nesting, an unknown route; and in JSON-RPC a wrong version, a
// missing or odd id, wrong params, an empty or oversized batch.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect as netConnect } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { http, jsonrpc, rpc, startShopEdge } from "./fixture.ts";
import { within } from "../conformance/helpers.ts";

const MAX_BODY = 64 * 1024;

describe("edge: bad input", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  before(async () => {
    t = await startShopEdge({ limits: { maxBodySize: MAX_BODY, maxJsonDepth: 32, maxBatch: 10 } });
  });
  after(() => t.close());
  // After each bad request, a good one from another client still works.
  afterEach(async () => {
    const answer = await rpc(t.url, "shop.add", { a: 1, b: 1 });
    assert.equal(answer.status, 200);
    assert.equal(answer.json, 2);
  });

  describe("POST /rpc", () => {
    it("invalid JSON: 400 INVALID_ARGUMENT", async () => {
      const answer = await http(t.url, "/rpc/shop/add", { method: "POST", body: '{"a": 1, "b":', headers: { "content-type": "application/json" } });
      assert.equal(answer.status, 400);
      assert.equal(answer.json.error.code, "INVALID_ARGUMENT");
      assert.match(answer.json.error.message, /not valid JSON/);
    });

    it("a wrong content type: 415", async () => {
      for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1"]) {
        const answer = await http(t.url, "/rpc/shop/add", { method: "POST", body: '{"a":1,"b":2}', headers: { "content-type": type } });
        assert.equal(answer.status, 415, type);
        assert.equal(answer.json.error.code, "INVALID_ARGUMENT");
      }
      const none = await http(t.url, "/rpc/shop/add", { method: "POST", body: '{"a":1,"b":2}' });
      assert.equal(none.status, 415);
      const utf8 = await http(t.url, "/rpc/shop/add", { method: "POST", body: '{"a":1,"b":2}', headers: { "content-type": "Application/JSON; charset=UTF-8" } });
      assert.equal(utf8.status, 200);
    });

    it("a huge body with Content-Length: 413 at once, the connection closed", async () => {
      const answer = await http(t.url, "/rpc/shop/add", { method: "POST", body: JSON.stringify({ a: 1, b: 2, pad: "x".repeat(MAX_BODY) }), headers: { "content-type": "application/json" } });
      assert.equal(answer.status, 413);
      assert.equal(answer.json.error.code, "RESOURCE_EXHAUSTED");
      assert.equal(answer.headers.connection, "close");
    });

    it("a huge chunked body: 413 once the limit is passed, without reading the rest", async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${t.url}/rpc/shop/add`, { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" }, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        req.on("error", (error) => (req.destroyed ? undefined : reject(error)));
        // Up to 4× the limit, in 8 KiB chunks, stopping once answered: bounded either way.
        const chunk = "[" + "1,".repeat(4095) + "1]";
        let sent = 0;
        const pump = (): void => {
          while (sent < 4 * MAX_BODY && !req.destroyed) {
            sent += chunk.length;
            if (!req.write(chunk)) {
              req.once("drain", pump);
              return;
            }
          }
          if (!req.destroyed) req.end();
        };
        pump();
      });
      assert.equal(status, 413);
    });

    it("deep nesting: 400 before parsing", async () => {
      const deep = "[".repeat(100_000) + "]".repeat(100_000);
      const answer = await http(t.url, "/rpc/shop/add", { method: "POST", body: `{"a":${"[".repeat(40)}${"]".repeat(40)},"b":1}`, headers: { "content-type": "application/json" } });
      assert.equal(answer.status, 400);
      assert.match(answer.json.error.message, /nests deeper than 32/);
      const huge = await http(t.url, "/rpc/shop/add", { method: "POST", body: deep.slice(0, MAX_BODY - 10), headers: { "content-type": "application/json" } });
      assert.equal(huge.status, 400);
      // Brackets inside strings are text, not nesting.
      const inString = await rpc(t.url, "shop.add", { a: 1, b: 2, note: "[".repeat(1000) });
      assert.equal(inString.status, 200);
    });

    it("an unknown route: 404 JSON; a route with extra segments: 404", async () => {
      for (const path of ["/nope", "/rpc/shop", "/rpc/shop/add/extra", "/rpc//add", "/rpc/shop/", "/%00", "/rpc/shop/add%2Fx"]) {
        const answer = await http(t.url, path, { method: "POST", body: {} });
        assert.equal(answer.status, 404, path);
        assert.equal(answer.json.error.code, "NOT_FOUND", path);
      }
    });

    it("a wrong HTTP method on a known route: 405 with Allow", async () => {
      const put = await http(t.url, "/rpc/shop/add", { method: "PUT", body: {} });
      assert.equal(put.status, 405);
      const post = await http(t.url, "/services", { method: "POST", body: {} });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, "GET");
    });

    it("malformed HTTP: 400 from the server, the connection closed", async () => {
      const reply = await rawExchange(t.url, "GARBAGE / NOT-HTTP\r\n\r\n");
      assert.match(reply, /^HTTP\/1\.1 400/);
    });
  });

  describe("JSON-RPC over HTTP", () => {
    it("invalid JSON: -32700 parse error, id null", async () => {
      const answer = await jsonrpc(t.url, '{"jsonrpc":"2.0","method":"shop.add",');
      assert.equal(answer.status, 200);
      assert.equal(answer.json.error.code, -32700);
      assert.equal(answer.json.id, null);
    });

    it("a wrong content type: 415 with a JSON-RPC error", async () => {
      const answer = await http(t.url, "/jsonrpc", { method: "POST", body: '{"jsonrpc":"2.0","id":1,"method":"shop.add"}', headers: { "content-type": "text/plain" } });
      assert.equal(answer.status, 415);
      assert.equal(answer.json.jsonrpc, "2.0");
      assert.equal(answer.json.error.code, -32600);
    });

    it("deep nesting: -32700", async () => {
      const answer = await jsonrpc(t.url, `{"jsonrpc":"2.0","id":1,"method":"shop.add","params":${"[".repeat(50)}${"]".repeat(50)}}`);
      assert.equal(answer.json.error.code, -32700);
    });

    it("a wrong version: -32600 with the request's id", async () => {
      for (const version of ["1.0", 2, undefined]) {
        const answer = await jsonrpc(t.url, { jsonrpc: version, id: 7, method: "shop.add", params: { a: 1, b: 2 } });
        assert.equal(answer.json.error.code, -32600, String(version));
        assert.equal(answer.json.id, 7);
      }
    });

    it("a missing id is a notification: run, not answered (204)", async () => {
      const answer = await jsonrpc(t.url, { jsonrpc: "2.0", method: "shop.add", params: { a: 1, b: 2 } });
      assert.equal(answer.status, 204);
      assert.equal(answer.text, "");
    });

    it("an odd id (object, array, boolean, too long): -32600 with id null", async () => {
      for (const id of [{}, [1], true, "x".repeat(300)]) {
        const answer = await jsonrpc(t.url, { jsonrpc: "2.0", id, method: "shop.add", params: { a: 1, b: 2 } });
        assert.equal(answer.json.error.code, -32600, JSON.stringify(id).slice(0, 20));
        assert.equal(answer.json.id, null);
      }
      // null, strings and numbers are ids.
      for (const id of [null, "a-1", 0, -5, 1.5]) {
        const answer = await jsonrpc(t.url, { jsonrpc: "2.0", id, method: "shop.add", params: { a: 1, b: 2 } });
        assert.equal(answer.json.result, 3, JSON.stringify(id));
        assert.equal(answer.json.id, id);
      }
    });

    it("wrong params: -32602", async () => {
      const scalar = await jsonrpc(t.url, { jsonrpc: "2.0", id: 1, method: "shop.add", params: 5 });
      assert.equal(scalar.json.error.code, -32602);
      const twoPositional = await jsonrpc(t.url, { jsonrpc: "2.0", id: 2, method: "shop.add", params: [1, 2] });
      assert.equal(twoPositional.json.error.code, -32602);
      const schema = await jsonrpc(t.url, { jsonrpc: "2.0", id: 3, method: "shop.add", params: { a: "x", b: 2 } });
      assert.equal(schema.json.error.code, -32602);
      assert.equal(schema.json.error.data.code, "INVALID_ARGUMENT");
      assert.ok(Array.isArray(schema.json.error.data.details.issues));
      const positional = await jsonrpc(t.url, { jsonrpc: "2.0", id: 4, method: "shop.add", params: [{ a: 1, b: 2 }] });
      assert.equal(positional.json.result, 3);
    });

    it("a missing or bad method: -32600; an unknown, private or rpc.* method: -32601", async () => {
      const missing = await jsonrpc(t.url, { jsonrpc: "2.0", id: 1 });
      assert.equal(missing.json.error.code, -32600);
      const number = await jsonrpc(t.url, { jsonrpc: "2.0", id: 1, method: 42 });
      assert.equal(number.json.error.code, -32600);
      for (const method of ["shop.nosuch", "shop.secret", "vault.open", "nodot", "rpc.discover", "amoeba.reflect.describe", ".add"]) {
        const answer = await jsonrpc(t.url, { jsonrpc: "2.0", id: 1, method });
        assert.equal(answer.json.error.code, -32601, method);
      }
      assert.equal(t.seen.secretCalls, 0);
    });

    it("an empty batch: one -32600 response", async () => {
      const answer = await jsonrpc(t.url, []);
      assert.equal(answer.status, 200);
      assert.ok(!Array.isArray(answer.json));
      assert.equal(answer.json.error.code, -32600);
      assert.equal(answer.json.id, null);
    });

    it("a batch of non-objects: one -32600 per entry", async () => {
      const answer = await jsonrpc(t.url, [1, "x", null]);
      assert.equal(answer.json.length, 3);
      for (const entry of answer.json) assert.equal(entry.error.code, -32600);
    });

    it("a batch larger than maxBatch: one -32600", async () => {
      const batch = Array.from({ length: 11 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "shop.add", params: { a: i, b: 0 } }));
      const answer = await jsonrpc(t.url, batch);
      assert.equal(answer.json.error.code, -32600);
      assert.match(answer.json.error.message, /at most 10/);
    });

    it("a non-object request (a string, a number): -32600", async () => {
      for (const message of ['"hello"', "42", "null"]) {
        const answer = await jsonrpc(t.url, message);
        assert.equal(answer.json.error.code, -32600, message);
      }
    });

    it("GET /jsonrpc without an upgrade: 426", async () => {
      const answer = await http(t.url, "/jsonrpc");
      assert.equal(answer.status, 426);
    });
  });
});

/** Sends raw bytes on a new connection and returns what came back before the server closed it. */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return within(
    new Promise<string>((resolve, reject) => {
      const socket = netConnect(Number(port), hostname, () => socket.write(bytes));
      let text = "";
      socket.on("data", (chunk) => (text += chunk.toString("latin1")));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    }),
    10_000,
    "the server answers and closes",
  );
}
