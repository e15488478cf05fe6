// The edge in front of services in other nodes: connected by hand over TCP,
// and found by look-up (gossip). Reflection carries the public marks and the
// JSON Schemas across the wire; a client that disconnects mid-stream cancels
// the handler on the other node.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startNode, type Node } from "../../src/index.ts";
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/config.ts";
import { startEdge, type Edge } from "../../src/edge/index.ts";
import { deferred, recordingLogger, within } from "../conformance/helpers.ts";
import { http, rpc, newSeen, Shop, shopHandlers, Vault, type Seen } from "./fixture.ts";

async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("edge: services on another node, connected by hand", () => {
  let backend: Node;
  let edge: Edge;
  let seen: Seen;
  before(async () => {
    seen = newSeen();
    backend = await startNode({ name: "backend", listen: "tcp://127.0.0.1:0", logger: recordingLogger() });
    backend.serve(Shop, shopHandlers(seen));
    backend.serve(Vault, { open: () => "gold", peek: () => "a glimpse" });
    edge = await startEdge({ port: 0, connect: [backend.addresses[0]!], rateLimit: false, logger: recordingLogger() });
  });
  after(async () => {
    await edge.close();
    await backend.close({ timeout: 1_000 });
  });

  it("learns the public methods by reflection and calls them", async () => {
    assert.deepEqual(edge.services.map((s) => [s.name, s.methods.includes("secret"), s.methods.includes("add")]).sort(), [["shop", false, true], ["vault", false, false]]);
    const answer = await rpc(edge.url, "shop.add", { a: 40, b: 2 });
    assert.equal(answer.json, 42);
    assert.equal((await rpc(edge.url, "shop.secret", {})).status, 404);
    assert.equal((await rpc(edge.url, "vault.open", {})).status, 404);
    assert.equal(seen.secretCalls, 0);
  });

  it("shows the JSON Schemas that reflection carried", async () => {
    const catalog = await http(edge.url, "/services");
    const add = catalog.json.services.find((s: { name: string }) => s.name === "shop").methods.find((m: { name: string }) => m.name === "add");
    assert.deepEqual(add.input, { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] });
    assert.deepEqual(add.output, { type: "number" });
  });

  it("validates at the callee: 400 with the issues from the other node", async () => {
    const answer = await rpc(edge.url, "shop.add", { a: 1 });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.error.details.issues[0].path, "b");
  });

  it("streams over the wire, and a client that disconnects cancels the handler there", async () => {
    const answer = await rpc(edge.url, "shop.count", { to: 3 });
    assert.match(answer.text, /data: 3\n\nevent: end/);
    const firstData = deferred<void>();
    const req = httpRequest(`${edge.url}/rpc/shop/forever`, { method: "POST", headers: { "content-type": "application/json" }, agent: false }, (res) => {
      res.on("data", (chunk: Buffer) => (chunk.toString().includes("data: ") ? firstData.resolve() : undefined));
      res.on("error", () => {});
    });
    req.on("error", () => {});
    req.end("{}");
    await within(firstData.promise, 10_000, "the first event arrives");
    req.destroy();
    assert.equal(await within(seen.aborted.promise, 10_000, "the remote handler's signal fires"), "CANCELLED");
  });
});

describe("edge: services found by look-up", () => {
  let rendezvous = "";
  before(async () => {
    rendezvous = await mkdtemp(join(tmpdir(), "amoeba-edge-test-"));
    process.env.AMOEBA_RENDEZVOUS_DIR = rendezvous;
  });
  after(async () => {
    await rm(rendezvous, { recursive: true, force: true });
  });

  it("finds a service that starts after the edge, and stops offering one that left", async () => {
    const cluster = `edge-${process.pid}`;
    const edge = await startEdge({ port: 0, cluster, lookup: { membership: FAST_MEMBERSHIP_CONFIG }, rateLimit: false, logger: recordingLogger() });
    let backend: Node | undefined;
    try {
      assert.equal((await rpc(edge.url, "shop.add", { a: 1, b: 2 })).status, 404);
      backend = await startNode({ name: "late-backend", cluster, listen: "tcp://127.0.0.1:0", lookup: { membership: FAST_MEMBERSHIP_CONFIG }, logger: recordingLogger() });
      backend.serve(Shop, shopHandlers(newSeen()));
      const answer = await eventually("the edge finds shop", async () => {
        const got = await rpc(edge.url, "shop.add", { a: 1, b: 2 });
        return got.status === 200 && got;
      });
      assert.equal(answer.json, 3);
      await backend.close();
      backend = undefined;
      const gone = await eventually("the edge stops offering shop", async () => {
        const got = await rpc(edge.url, "shop.add", { a: 1, b: 2 });
        return got.status !== 200 && got;
      });
      assert.ok([404, 503].includes(gone.status), `status ${gone.status}`);
    } finally {
      await backend?.close();
      await edge.close();
    }
  });
});
