// The dashboard's HTTP endpoints, against a real node over real sockets: the
// snapshot and its feed, calls from the form (unary and stream), and bad
// input answered with a status and a typed error, never a crash.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { Script } from "node:vm";
import { Calculator, handlers } from "../../examples/calculator/service.ts";
import { startDashboard, type Dashboard, type DashboardSnapshot } from "../../src/dashboard/index.ts";
import { PAGE_SCRIPT } from "../../src/dashboard/page/script.ts";
import { startNode, type Node } from "../../src/index.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** One HTTP exchange; `headers` may override Host and Content-Type. */
function exchange(
  url: string,
  path: string,
  options: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method: options.method ?? "GET", headers: options.headers ?? {}, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", reject);
    req.end(options.body);
  });
}

function call(url: string, body: unknown): ReturnType<typeof exchange> {
  return exchange(url, "/api/call", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

describe("dashboard endpoints", () => {
  let node: Node;
  let dashboard: Dashboard;
  before(async () => {
    node = await startNode({ name: "dash-calc", cluster: `dash-endpoints-${process.pid}`, listen: "tcp://127.0.0.1:0", logger: silent, metrics: true, lookup: { gossip: "udp://127.0.0.1:0" } });
    node.serve(Calculator, handlers);
    dashboard = await startDashboard({ nodes: [node], port: 0, interval: 200, maxBody: 4_096 });
  });
  after(async () => {
    await dashboard.close();
    await node.close({ timeout: 1_000 });
  });

  it("serves the page, its script and style", async () => {
    const page = await exchange(dashboard.url, "/");
    assert.equal(page.status, 200);
    assert.match(String(page.headers["content-type"]), /text\/html/);
    assert.match(page.text, /<script src="\/dashboard\.js"/);
    const script = await exchange(dashboard.url, "/dashboard.js");
    assert.equal(script.status, 200);
    assert.equal(script.text, PAGE_SCRIPT);
    assert.equal((await exchange(dashboard.url, "/dashboard.css")).status, 200);
  });

  it("the page's script is valid JavaScript", () => {
    assert.doesNotThrow(() => new Script(PAGE_SCRIPT, { filename: "dashboard.js" }));
  });

  it("shows the node, its services with methods and schemas, and its instance", async () => {
    const { json } = await exchange(dashboard.url, "/api/snapshot");
    const snapshot = json as DashboardSnapshot;
    assert.equal(snapshot.clusters.length, 1);
    const [self] = snapshot.clusters[0]!.nodes;
    assert.equal(self?.name, "dash-calc");
    assert.equal(self?.state, "alive");
    assert.deepEqual(self?.services, ["calculator@1.2.0"]);
    const calculator = snapshot.catalog.find((service) => service.name === "calculator");
    assert.ok(calculator, "the calculator is in the catalog");
    assert.deepEqual(calculator.methods.map((m) => m.name).sort(), ["add", "count", "sleep"]);
    assert.equal(calculator.methods.find((m) => m.name === "count")?.kind, "server-stream");
    assert.equal(calculator.instances.length, 1);
    assert.ok(!snapshot.catalog.some((service) => service.name.startsWith("amoeba.")), "built-in services stay out of the catalog");
    assert.equal(snapshot.recentCalls.available, true, "every node serves amoeba.traces");
  });

  it("feeds snapshots as Server-Sent Events", async () => {
    const controller = new AbortController();
    const response = await fetch(new URL("/api/events", dashboard.url), { signal: controller.signal });
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const reader = response.body!.getReader();
    let text = "";
    const until = Date.now() + 10_000;
    while ((text.match(/event: snapshot/g) ?? []).length < 2 && Date.now() < until) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString("utf8");
    }
    controller.abort();
    assert.ok((text.match(/event: snapshot/g) ?? []).length >= 2, "a first snapshot at once, then one per interval");
    const first = /data: (.*)\n/.exec(text)?.[1];
    assert.equal((JSON.parse(first!) as DashboardSnapshot).clusters[0]?.nodes[0]?.name, "dash-calc");
  });

  it("calls a unary method and a server stream from the form", async () => {
    const sum = await call(dashboard.url, { service: "calculator", method: "add", input: { a: 2, b: 3 } });
    assert.equal(sum.status, 200, sum.text);
    assert.equal(sum.json.result, 5);
    assert.equal(sum.json.version, "1.2.0");
    const counted = await call(dashboard.url, { service: "calculator", method: "count", input: { to: 3 } });
    assert.equal(counted.status, 200, counted.text);
    assert.deepEqual(counted.json.items, [1, 2, 3]);
  });

  it("answers the callee's schema error with its code and issues", async () => {
    const wrong = await call(dashboard.url, { service: "calculator", method: "add", input: { a: "x" } });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error.code, "INVALID_ARGUMENT");
  });

  it("answers bad input with a clear typed error, and keeps serving", async () => {
    const cases: Array<[string, ReturnType<typeof exchange>, number, string, RegExp]> = [
      ["bad JSON", exchange(dashboard.url, "/api/call", { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" }), 400, "INVALID_ARGUMENT", /not valid JSON/],
      ["not an object", call(dashboard.url, [1, 2]), 400, "INVALID_ARGUMENT", /must be a JSON object/],
      ["no method", call(dashboard.url, { service: "calculator" }), 400, "INVALID_ARGUMENT", /"method" must be a non-empty string/],
      ["unknown method", call(dashboard.url, { service: "calculator", method: "divide" }), 404, "NOT_FOUND", /no method calculator\.divide/],
      ["unknown service", call(dashboard.url, { service: "nope", method: "add" }), 404, "NOT_FOUND", /no method nope\.add/],
      ["a built-in service", call(dashboard.url, { service: "amoeba.stats", method: "get" }), 404, "NOT_FOUND", /no method amoeba\.stats\.get/],
      ["a bad timeout", call(dashboard.url, { service: "calculator", method: "add", timeout: -1 }), 400, "INVALID_ARGUMENT", /"timeout" must be/],
      ["oversized body", call(dashboard.url, { service: "calculator", method: "add", input: { pad: "x".repeat(10_000) } }), 413, "RESOURCE_EXHAUSTED", /larger than 4096 bytes/],
      ["not JSON", exchange(dashboard.url, "/api/call", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }), 415, "INVALID_ARGUMENT", /must be JSON/],
      ["deep nesting", exchange(dashboard.url, "/api/call", { method: "POST", headers: { "content-type": "application/json" }, body: "[".repeat(1_000) }), 400, "INVALID_ARGUMENT", /nests deeper/],
      ["wrong method", exchange(dashboard.url, "/api/call"), 405, "UNIMPLEMENTED", /use POST/],
      ["unknown page", exchange(dashboard.url, "/admin"), 404, "NOT_FOUND", /no such page/],
      ["a foreign Host", exchange(dashboard.url, "/api/snapshot", { headers: { host: "evil.example:8090" } }), 403, "PERMISSION_DENIED", /loopback/],
    ];
    for (const [what, pending, status, code, message] of cases) {
      const answer = await pending;
      assert.equal(answer.status, status, `${what}: ${answer.text}`);
      assert.equal(answer.json?.error?.code, code, what);
      assert.match(answer.json.error.message, message, what);
    }
    const still = await call(dashboard.url, { service: "calculator", method: "add", input: { a: 1, b: 1 } });
    assert.equal(still.json.result, 2, "the dashboard still serves");
  });

  it("leaves a node that only watches out of the picture, and keeps its services in the catalog", async () => {
    const watching = await startDashboard({ nodes: [{ node, hidden: true }], port: 0 });
    try {
      assert.deepEqual(watching.snapshot.clusters[0]?.nodes, []);
      assert.ok(watching.snapshot.catalog.some((service) => service.name === "calculator"));
    } finally {
      await watching.close();
    }
  });

  it("refuses bad options with a TypeError", async () => {
    await assert.rejects(startDashboard({ nodes: [] }), TypeError);
    await assert.rejects(startDashboard({ nodes: [node], port: 70_000 }), TypeError);
    await assert.rejects(startDashboard({ nodes: [node], port: 0, interval: 5 }), TypeError);
  });
});
