// Over HTTP: the handler's response metadata comes back as amoeba-meta-*
// headers (exposed to pages CORS lets in; values HTTP cannot carry are left
// out), in a Server-Sent Events stream's end event; grpc-timeout is the
// call's deadline.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { within } from "../conformance/helpers.ts";
import { rpc, startShopEdge } from "./fixture.ts";

describe("edge: response metadata and deadlines over HTTP", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  afterEach(() => t.close());

  it("returns response metadata as amoeba-meta-* headers", async () => {
    t = await startShopEdge();
    const answer = await rpc(t.url, "shop.echoMeta", { set: { "x-served-by": "shop-node", "x-version": "7" } });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["amoeba-meta-x-served-by"], "shop-node");
    assert.equal(answer.headers["amoeba-meta-x-version"], "7");
    assert.equal(answer.headers["content-type"], "application/json", "metadata cannot replace the edge's own headers");
  });

  it("leaves out metadata HTTP cannot carry, and still answers", async () => {
    t = await startShopEdge();
    const answer = await rpc(t.url, "shop.echoMeta", { set: { "x-bad": "line\r\nset-cookie: a=b", "bad key": "v", "x-good": "yes" } });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["amoeba-meta-x-good"], "yes");
    assert.equal(answer.headers["amoeba-meta-x-bad"], undefined);
    assert.equal(answer.headers["set-cookie"], undefined);
    assert.equal(Object.keys(answer.headers).filter((name) => name.startsWith("amoeba-meta-")).length, 1);
  });

  it("exposes the metadata headers to a page of an allowed origin", async () => {
    t = await startShopEdge({ cors: { origins: ["http://app.test"] } });
    const answer = await rpc(t.url, "shop.echoMeta", { set: { "x-served-by": "n1" } }, { origin: "http://app.test" });
    assert.equal(answer.headers["access-control-allow-origin"], "http://app.test");
    assert.match(String(answer.headers["access-control-expose-headers"]), /retry-after.*amoeba-meta-x-served-by/);
  });

  it("carries a stream's response metadata in its end event", async () => {
    t = await startShopEdge();
    const answer = await rpc(t.url, "shop.double", [1, 2]);
    assert.equal(answer.status, 200);
    assert.match(answer.text, /event: end\ndata: \{"items":2,"meta":\{"x-doubled":"2"\}\}/);
  });

  it("applies grpc-timeout as the call's deadline: 504, and the handler's signal fires", async () => {
    t = await startShopEdge();
    const answer = await rpc(t.url, "shop.sleep", { ms: 60_000 }, { "grpc-timeout": "100m" });
    assert.equal(answer.status, 504);
    assert.equal(answer.json.error.code, "DEADLINE_EXCEEDED");
    assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "DEADLINE_EXCEEDED");
  });
});
