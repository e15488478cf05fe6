// The catalog and the OpenAPI 3.1 document come from the contracts' schemas,
// carried by reflection: zod's own JSON Schema export, schemas given by hand,
// and "{}" for a schema that cannot say. Public marks: per contract, per method.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { contract, stream, unary } from "../../src/index.ts";
import { isPublicMethod } from "../../src/rpc/contract.ts";
import { plainSchema } from "../../src/rpc/plain-schema.ts";
import { describeServices } from "../../src/rpc/reflection.ts";
import { ServiceRegistry } from "../../src/rpc/registry.ts";
import { http, startShopEdge } from "./fixture.ts";

describe("edge: catalog and OpenAPI", () => {
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  before(async () => {
    t = await startShopEdge({ openapi: { title: "Shop API", version: "2.0.0" } });
  });
  after(() => t.close());

  it("GET /services lists the public methods with kinds, paths and schemas", async () => {
    const answer = await http(t.url, "/services");
    assert.equal(answer.status, 200);
    const names = answer.json.services.map((s: { name: string; methods: Array<{ name: string }> }) => `${s.name}:${s.methods.map((m) => m.name).sort().join(",")}`);
    assert.deepEqual(names, ["shop:add,count,crash,double,echoMeta,fail,forever,hold,sleep,sum,whoami", "vault:peek"]);
    const shop = answer.json.services[0];
    assert.equal(shop.version, "1.2.0");
    const count = shop.methods.find((m: { name: string }) => m.name === "count");
    assert.equal(count.kind, "server-stream");
    assert.equal(count.path, "/rpc/shop/count");
    assert.equal(count.jsonrpc, "shop.count");
    assert.deepEqual(count.input.required, ["to"]);
  });

  it("GET /openapi.json is an OpenAPI 3.1 document of the public methods", async () => {
    const answer = await http(t.url, "/openapi.json");
    assert.equal(answer.status, 200);
    const doc = answer.json;
    assert.equal(doc.openapi, "3.1.0");
    assert.equal(doc.info.title, "Shop API");
    assert.equal(doc.info.version, "2.0.0");
    assert.deepEqual(doc.servers, [{ url: ".", description: "The edge this document was read from." }]);
    const resolve = (schema: { $ref?: string }): unknown => (schema.$ref ? doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")] : schema);
    assert.ok(doc.paths["/rpc/shop/add"].post);
    assert.ok(doc.paths["/rpc/vault/peek"].post);
    assert.equal(doc.paths["/rpc/shop/secret"], undefined);
    assert.equal(doc.paths["/rpc/vault/open"], undefined);
    const add = doc.paths["/rpc/shop/add"].post;
    assert.equal(add.operationId, "shop.add");
    assert.equal(add.summary, "The sum of a and b.");
    assert.equal(add.requestBody.required, true);
    assert.deepEqual(add.requestBody.content["application/json"].schema, { $ref: "#/components/schemas/shop.add.Input" }, "schemas are reusable components");
    assert.deepEqual(resolve(add.requestBody.content["application/json"].schema), { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] });
    assert.deepEqual(resolve(add.responses["200"].content["application/json"].schema), { type: "number" });
    assert.deepEqual(add.security, [], "this edge authenticates no one: no scheme applies");
    assert.ok(doc.paths["/rpc/shop/count"].post.responses["200"].content["text/event-stream"]);
    assert.equal((resolve(doc.paths["/rpc/shop/sum"].post.requestBody.content["application/json"].schema) as { type: string }).type, "array");
    // Every reference resolves.
    for (const ref of answer.text.match(/"\$ref":"[^"]+"/g) ?? []) {
      const path = ref.slice(8, -1).replace(/^#\//, "").split("/");
      let node: any = doc;
      for (const segment of path) node = node?.[segment];
      assert.ok(node !== undefined, `${ref} resolves`);
    }
  });
});

describe("reflection: public marks and JSON Schemas", () => {
  const hand = { input: { type: "object", properties: { q: { type: "string" } } }, output: { type: "array" } };
  const Mixed = contract("mixed", "1.0.0", {
    zod: unary({ input: z.object({ n: z.number().int() }), output: z.string() }),
    plain: unary({ input: plainSchema<number>(() => null), output: plainSchema<number>(() => null) }),
    byHand: unary({ input: plainSchema<unknown>(() => null), output: plainSchema<unknown>(() => null), jsonSchema: hand }),
    transform: stream({ input: z.string(), output: z.string().transform((s) => s.length) }),
    hidden: unary({ input: z.object({}), output: z.null(), public: false }),
  }, { public: true });
  const Private = contract("private", "1.0.0", {
    a: unary({ input: z.object({}), output: z.null() }),
    b: unary({ input: z.object({}), output: z.null(), public: true }),
  });

  it("marks methods public by the method's flag, else the contract's, else not", () => {
    assert.equal(isPublicMethod(Mixed, Mixed.methods.zod), true);
    assert.equal(isPublicMethod(Mixed, Mixed.methods.hidden), false);
    assert.equal(isPublicMethod(Private, Private.methods.a), false);
    assert.equal(isPublicMethod(Private, Private.methods.b), true);
  });

  it("describes zod schemas, schemas given by hand, and {} for what cannot be said", () => {
    const registry = new ServiceRegistry();
    registry.add(Mixed, { zod: () => "", plain: () => 0, byHand: () => [], async *transform() {}, hidden: () => null });
    const [described] = describeServices(registry, "mixed");
    const by = Object.fromEntries(described!.methods.map((m) => [m.name, m]));
    assert.deepEqual(by.zod!.input, { type: "object", properties: { n: { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 } }, required: ["n"] });
    assert.deepEqual(by.plain!.input, {});
    assert.deepEqual(by.plain!.output, {});
    assert.deepEqual(by.byHand!.input, hand.input);
    assert.deepEqual(by.byHand!.output, hand.output);
    assert.deepEqual(by.transform!.input, { type: "string" });
    assert.deepEqual(by.transform!.output, {});
    assert.equal(by.zod!.public, true);
    assert.equal(by.hidden!.public, false);
  });
});
