// Entities through the edge: POST /rpc with Amoeba-Entity reaches one entity of an
// entity type, on whichever node owns it (the edge's node passes the call on);
// Idempotency-Key answers a retried request from its record; malformed keys are
// refused with 400 before any call; pages may send both headers across origins.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { contract, startNode, unary, type Node } from "../../src/index.ts";
import { startEdge, type Edge } from "../../src/edge/index.ts";
import { entities, openDirectoryStore, serveEntity, type EntityStore } from "../../src/entity/index.ts";
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/config.ts";
import { rendezvousScore } from "../../src/balance/rendezvous.ts";
import { waitFor } from "../conformance/helpers.ts";
import { http, rpc } from "./fixture.ts";

const Tally = contract(
  "tally",
  "1.0.0",
  { add: unary({ input: z.object({ by: z.number() }), output: z.object({ value: z.number(), node: z.string() }) }) },
  { public: true },
);

describe("edge: entities by header", () => {
  let dir = "";
  let nodes: Node[] = [];
  let store: EntityStore;
  let edge: Edge;
  let url = "";
  /** Turns run, per node. */
  const turns = new Map<string, number>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "amoeba-edge-entities-"));
    process.env.AMOEBA_RENDEZVOUS_DIR = join(dir, "rendezvous");
    store = await openDirectoryStore({ dir: join(dir, "store") });
    const cluster = `edge-entities-${process.pid}`;
    for (const name of ["e0", "e1"]) {
      nodes.push(await startNode({ name, cluster, listen: "tcp://127.0.0.1:0", lookup: { membership: FAST_MEMBERSHIP_CONFIG } }));
    }
    for (const node of nodes) {
      await serveEntity(node, Tally, {
        store,
        initial: () => 0,
        handlers: {
          add: ({ by }, tally, ctx) => {
            turns.set(ctx.node, (turns.get(ctx.node) ?? 0) + 1);
            tally.state += by;
            return { value: tally.state, node: ctx.node };
          },
        },
      });
    }
    await waitFor(() => nodes.every((node) => node.lookup(Tally).length === 2), 15_000, "both nodes see the entity type on both");
    edge = await startEdge({ node: nodes[0]!, port: 0, rateLimit: false, cors: { origins: ["http://app.test"] } });
    url = `http://127.0.0.1:${edge.port}`;
  });
  after(async () => {
    await edge?.close();
    await Promise.all(nodes.map((node) => node.close({ timeout: 2_000 })));
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ownerOf = (key: string): Node => nodes.reduce((best, node) => (rendezvousScore(key, node.id) > rendezvousScore(key, best.id) ? node : best));

  it("reaches each key's entity on its owner, wherever the edge's node is", async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    for (const round of [1, 2]) {
      for (const key of keys) {
        const answer = await rpc(url, "tally.add", { by: 1 }, { "amoeba-entity": key });
        assert.equal(answer.status, 200, answer.text);
        assert.deepEqual(answer.json, { value: round, node: ownerOf(key).name }, `${key} in round ${round}`);
      }
    }
    assert.ok(keys.some((key) => ownerOf(key) !== nodes[0]), "some keys are owned by the node the edge is not on");
  });

  it("percent-decodes the key, so any key fits in a header", async () => {
    const key = "użytkownik 42/ü";
    const answer = await rpc(url, "tally.add", { by: 5 }, { "amoeba-entity": encodeURIComponent(key) });
    assert.equal(answer.status, 200, answer.text);
    const value = await entities(nodes[1]!, Tally).for(key).add({ by: 0 });
    assert.equal(value.value, 5, "the call reached the entity of the decoded key");
  });

  it("answers a request retried with its Idempotency-Key from the record: the turn runs once", async () => {
    const headers = { "amoeba-entity": "order-7", "idempotency-key": "pay-7-attempt" };
    const before = [...turns.values()].reduce((a, b) => a + b, 0);
    const first = await rpc(url, "tally.add", { by: 10 }, headers);
    const again = await rpc(url, "tally.add", { by: 10 }, headers);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(again.json, first.json, "the retry gets the first answer");
    assert.equal([...turns.values()].reduce((a, b) => a + b, 0) - before, 1, "the handler ran once");
    const other = await rpc(url, "tally.add", { by: 10 }, { ...headers, "idempotency-key": "pay-7-second" });
    assert.equal(other.json.value, 20, "another key is another call");
  });

  it("refuses a missing or malformed key with 400 INVALID_ARGUMENT", async () => {
    const missing = await rpc(url, "tally.add", { by: 1 });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.code, "INVALID_ARGUMENT");
    assert.match(missing.json.error.message, /entity type/);
    for (const [header, value] of [
      ["amoeba-entity", "k".repeat(257)],
      ["amoeba-entity", "%E0%A4%A"],
      ["idempotency-key", "x".repeat(257)],
    ] as const) {
      const answer = await rpc(url, "tally.add", { by: 1 }, { "amoeba-entity": "fine", [header]: value });
      assert.equal(answer.status, 400, `${header}: ${value.slice(0, 12)}`);
      assert.equal(answer.json.error.code, "INVALID_ARGUMENT");
    }
    const fine = await entities(nodes[0]!, Tally).for("fine").add({ by: 0 });
    assert.equal(fine.value, 0, "no refused request reached the entity");
  });

  it("lets pages send both headers across origins", async () => {
    const answer = await http(url, "/rpc/tally/add", {
      method: "OPTIONS",
      headers: { origin: "http://app.test", "access-control-request-method": "POST", "access-control-request-headers": "amoeba-entity, idempotency-key" },
    });
    const allowed = String(answer.headers["access-control-allow-headers"]);
    assert.match(allowed, /amoeba-entity/);
    assert.match(allowed, /idempotency-key/);
  });
});
