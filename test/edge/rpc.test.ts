// POST /rpc/<service>/<method>: JSON in, JSON out; errors as JSON with their
// code and the HTTP status gRPC's mapping gives; only public methods; deadlines
// from X-Timeout and grpc-timeout; client streams as a JSON array.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HTTP_STATUS } from "../../src/edge/index.ts";
import { http, rpc, startShopEdge } from "./fixture.ts";
import { within } from "../conformance/helpers.ts";

describe("edge: POST /rpc", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  before(async () => {
    t = await startShopEdge();
  });
  after(() => t.close());

  it("calls a public unary method: JSON in, JSON out", async () => {
    const answer = await rpc(t.url, "shop.add", { a: 2, b: 40 });
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers["content-type"]), /^application\/json/);
    assert.equal(answer.json, 42);
  });

  it("answers a schema failure with 400 INVALID_ARGUMENT and the schema's issues", async () => {
    const answer = await rpc(t.url, "shop.add", { a: "two", b: 40 });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.error.code, "INVALID_ARGUMENT");
    assert.deepEqual(answer.json.error.details.issues.map((issue: { path: string }) => issue.path), ["a"]);
  });

  it("maps every code a handler throws to its HTTP status, with the handler's message and details", async () => {
    for (const code of ["NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "FAILED_PRECONDITION", "OUT_OF_RANGE", "UNAUTHENTICATED", "RESOURCE_EXHAUSTED", "ABORTED"] as const) {
      const answer = await rpc(t.url, "shop.fail", { code, message: `it is ${code}` });
      assert.equal(answer.status, HTTP_STATUS[code], code);
      assert.equal(answer.json.error.code, code);
      assert.equal(answer.json.error.message, `it is ${code}`);
      assert.deepEqual(answer.json.error.details, { hint: "from the handler" });
    }
  });

  it("keeps infrastructure messages inside: UNAVAILABLE 503, DEADLINE_EXCEEDED 504, UNIMPLEMENTED 501 with a plain sentence", async () => {
    for (const [code, status] of [["UNAVAILABLE", 503], ["DEADLINE_EXCEEDED", 504], ["UNIMPLEMENTED", 501], ["DATA_LOSS", 500]] as const) {
      const answer = await rpc(t.url, "shop.fail", { code, message: "node shop-node at tcp://10.1.2.3:7400 is sad" });
      assert.equal(answer.status, status, code);
      assert.equal(answer.json.error.code, code);
      assert.doesNotMatch(answer.json.error.message, /shop-node|10\.1\.2\.3/);
      assert.equal(answer.json.error.details, undefined);
    }
  });

  it("answers an exception with 500 INTERNAL and never its text", async () => {
    const answer = await rpc(t.url, "shop.crash", {});
    assert.equal(answer.status, 500);
    assert.equal(answer.json.error.code, "INTERNAL");
    assert.doesNotMatch(answer.text, /hunter2|shop-node/);
  });

  it("answers 404 alike for a method not public, a service not public and one that does not exist", async () => {
    const secret = await rpc(t.url, "shop.secret", {});
    const vault = await rpc(t.url, "vault.open", {});
    const none = await rpc(t.url, "nosuch.thing", {});
    const noMethod = await rpc(t.url, "shop.nosuch", {});
    for (const answer of [secret, vault, none, noMethod]) {
      assert.equal(answer.status, 404);
      assert.equal(answer.json.error.code, "NOT_FOUND");
    }
    assert.equal(t.seen.secretCalls, 0);
    // The same message shape: nothing tells a private method from a missing one.
    assert.equal(secret.json.error.message.replace("secret", "X"), noMethod.json.error.message.replace("nosuch", "X"));
    // A method marked public in a contract that is not reaches users.
    const peek = await rpc(t.url, "vault.peek", {});
    assert.equal(peek.status, 200);
    assert.equal(peek.json, "a glimpse");
  });

  it("never exposes Amoeba's own services", async () => {
    const answer = await rpc(t.url, "amoeba.reflect.describe", {});
    assert.equal(answer.status, 404);
  });

  it("applies X-Timeout as the call's deadline: 504 DEADLINE_EXCEEDED, and the handler's signal fires", async () => {
    const answer = await rpc(t.url, "shop.sleep", { ms: 60_000 }, { "x-timeout": "50" });
    assert.equal(answer.status, 504);
    assert.equal(answer.json.error.code, "DEADLINE_EXCEEDED");
    assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "DEADLINE_EXCEEDED");
  });

  it("accepts grpc-timeout and refuses a malformed timeout with 400", async () => {
    const ok = await rpc(t.url, "shop.sleep", { ms: 1 }, { "grpc-timeout": "10S" });
    assert.equal(ok.status, 200);
    const bad: Array<Record<string, string>> = [{ "x-timeout": "soon" }, { "x-timeout": "0" }, { "grpc-timeout": "5 seconds" }];
    for (const headers of bad) {
      const answer = await rpc(t.url, "shop.add", { a: 1, b: 1 }, headers);
      assert.equal(answer.status, 400, JSON.stringify(headers));
      assert.equal(answer.json.error.code, "INVALID_ARGUMENT");
    }
  });

  it("takes a client stream's items as a JSON array", async () => {
    const answer = await rpc(t.url, "shop.sum", [1, 2, 3, 4]);
    assert.equal(answer.status, 200);
    assert.equal(answer.json, 10);
    const notArray = await rpc(t.url, "shop.sum", { items: [1] });
    assert.equal(notArray.status, 400);
  });

  it("treats an empty body as {}", async () => {
    const answer = await http(t.url, "/rpc/shop/whoami", { method: "POST" });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, { caller: null, role: null });
  });

  it("refuses GET on a unary method with 405 and Allow", async () => {
    const answer = await http(t.url, "/rpc/shop/add");
    assert.equal(answer.status, 405);
    assert.equal(answer.headers.allow, "POST");
  });

  it("answers /healthz", async () => {
    const answer = await http(t.url, "/healthz");
    assert.equal(answer.status, 200);
    assert.equal(answer.json.status, "ok");
  });
});
