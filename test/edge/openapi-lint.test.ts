// The edge's OpenAPI document in the HTTP ecosystem: it passes Redocly's
// recommended rules (servers, security on every operation, reusable
// components, required request bodies), and a client generated from it —
// openapi-typescript's types with openapi-fetch — calls the edge.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import createClient from "openapi-fetch";
import { startShopEdge, http } from "./fixture.ts";
import type { paths } from "./generated/shop-api.ts";
import { generateTypes, GENERATED_TYPES } from "./openapi-client.ts";

async function lint(document: string): Promise<Array<{ severity: string; ruleId: string; message: string }>> {
  const config = await createConfig({ extends: ["recommended"] });
  return (await lintFromString({ source: document, absoluteRef: "/openapi.json", config })).map((p) => ({ severity: p.severity, ruleId: p.ruleId, message: p.message }));
}

describe("edge: OpenAPI for the ecosystem", () => {
  let secured: Awaited<ReturnType<typeof startShopEdge>>;
  let open: Awaited<ReturnType<typeof startShopEdge>>;
  before(async () => {
    secured = await startShopEdge({
      openapi: { title: "Shop API", version: "2.0.0", license: { name: "MIT", identifier: "MIT" } },
      authenticate: (token) => (token === "let-me-in" ? { id: "u1" } : null),
    });
    open = await startShopEdge({});
  });
  after(async () => {
    await secured.close();
    await open.close();
  });

  it("passes Redocly's recommended rules, every one of them when the document names its license", async () => {
    const document = (await http(secured.url, "/openapi.json", { headers: { authorization: "Bearer let-me-in" } })).text;
    assert.deepEqual(await lint(document), [], "no problem at all");
    const doc = JSON.parse(document);
    assert.deepEqual(doc.paths["/rpc/shop/add"].post.security, [{ bearer: [] }], "an edge that authenticates names its scheme on each operation");
    assert.equal(doc.components.securitySchemes.bearer.scheme, "bearer");
    const plain = await lint((await http(open.url, "/openapi.json")).text);
    assert.deepEqual(plain.filter((p) => p.severity === "error"), [], "an edge without authentication: no error either");
    assert.deepEqual(plain.map((p) => p.ruleId), ["info-license"], "only the license it was not told");
  });

  it("gives openapi-typescript types that are kept current, and an openapi-fetch client that calls the edge", async () => {
    const document = JSON.parse((await http(open.url, "/openapi.json")).text);
    const types = await generateTypes(document);
    if (process.env.AMOEBA_UPDATE_GENERATED === "1") writeFileSync(GENERATED_TYPES, types);
    assert.equal(readFileSync(GENERATED_TYPES, "utf8"), types, "generated/shop-api.ts is what openapi-typescript makes of the document today");

    const client = createClient<paths>({ baseUrl: open.url });
    const sum = await client.POST("/rpc/shop/add", { body: { a: 20, b: 22 } });
    assert.equal(sum.response.status, 200);
    assert.equal(sum.data, 42);
    const failed = await client.POST("/rpc/shop/fail", { body: { code: "FAILED_PRECONDITION", message: "out of tea" } });
    assert.equal(failed.response.status, 400);
    assert.equal(failed.error?.error.code, "FAILED_PRECONDITION");
    assert.equal(failed.error?.error.message, "out of tea");
    const who = await client.POST("/rpc/shop/whoami", { body: {} });
    assert.deepEqual(who.data, { caller: null, role: null });
  });
});
