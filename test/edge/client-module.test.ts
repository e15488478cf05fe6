// GET /amoeba-client.js: the browser client as one ES module, bundled from
// the sources at the first request, with no import a browser cannot load;
// revalidated by ETag; readable by pages CORS lets in.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { http, startShopEdge } from "./fixture.ts";

describe("edge: GET /amoeba-client.js", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  before(async () => {
    t = await startShopEdge({ cors: { origins: ["http://app.test"] }, authenticate: () => null });
  });
  after(() => t.close());

  it("serves one self-contained ES module, without authentication", async () => {
    const answer = await http(t.url, "/amoeba-client.js");
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers["content-type"]), /^text\/javascript/);
    assert.match(answer.text, /export\s*\{[^}]*connectEdge/);
    assert.doesNotMatch(answer.text, /\bfrom\s*["'](?!\.)/, "no bare or node: imports");
    assert.doesNotMatch(answer.text, /\bimport\s*\(|\brequire\(/, "nothing loaded later");
  });

  it("answers 304 to a matching If-None-Match, and 405 to a POST", async () => {
    const first = await http(t.url, "/amoeba-client.js");
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[\w-]+"$/);
    assert.equal((await http(t.url, "/amoeba-client.js", { headers: { "if-none-match": etag } })).status, 304);
    assert.equal((await http(t.url, "/amoeba-client.js", { method: "POST", body: "{}" })).status, 405);
  });

  it("lets an allowed origin load it as a module script", async () => {
    const answer = await http(t.url, "/amoeba-client.js", { headers: { origin: "http://app.test" } });
    assert.equal(answer.headers["access-control-allow-origin"], "http://app.test");
  });
});
