import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { z } from "zod";
import { Calculator, handlers } from "../../examples/calculator/service.ts";
import { contract, RpcError, startNode, unary, type Node, type NodeOptions } from "../../src/index.ts";
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/config.ts";
import { serveRegistry } from "../../src/lookup/registry/server.ts";
import type { LookupChange } from "../../src/lookup/types.ts";

// Each test file gets its own rendezvous folder, so clusters of other test files stay invisible.
let rendezvous = "";
before(async () => {
  rendezvous = await mkdtemp(join(tmpdir(), "amoeba-lookup-test-"));
  process.env.AMOEBA_RENDEZVOUS_DIR = rendezvous;
});
after(async () => {
  await rm(rendezvous, { recursive: true, force: true });
});

const fast = { membership: FAST_MEMBERSHIP_CONFIG };
let clusterCount = 0;
const cluster = (): string => `lookup-${process.pid}-${++clusterCount}`;

async function eventually<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function nodes(count: number, options: (i: number) => NodeOptions): Promise<Node[]> {
  const started: Node[] = [];
  for (let i = 0; i < count; i++) started.push(await startNode(options(i)));
  return started;
}

test("nodes of one cluster on one machine find each other with no seeds, and calls follow the look-up", async (t) => {
  const name = cluster();
  const [server, caller] = await nodes(2, (i) => ({ name: `n${i}`, cluster: name, listen: "tcp://127.0.0.1:0", lookup: fast }));
  t.after(() => Promise.all([caller!.close(), server!.close()]));
  server!.serve(Calculator, handlers);
  const instances = await eventually("the calculator in the caller's look-up", () => {
    const found = caller!.lookup(Calculator);
    return found.length === 1 && found;
  });
  assert.equal(instances[0]!.node.name, "n0");
  assert.equal(instances[0]!.version, "1.2.0");
  assert.deepEqual(instances[0]!.addresses, server!.addresses);
  assert.equal(await caller!.client(Calculator).add({ a: 20, b: 22 }), 42);
  assert.deepEqual(caller!.members().map((m) => [m.record.name, m.state]).sort(), [["n0", "alive"], ["n1", "alive"]]);
});

test("look-up filters by version range and labels; a range nobody serves names what exists", async (t) => {
  const name = cluster();
  const v1 = contract("tea", "1.4.0", { brew: unary({ input: z.object({}), output: z.string() }) });
  const v2 = contract("tea", "2.0.1", { brew: unary({ input: z.object({}), output: z.string() }) });
  const [a, b, caller] = await nodes(3, (i) => ({
    name: `t${i}`,
    cluster: name,
    listen: "tcp://127.0.0.1:0",
    labels: { zone: i === 0 ? "a" : "b" },
    lookup: fast,
  }));
  t.after(() => Promise.all([caller!.close(), a!.close(), b!.close()]));
  a!.serve(v1, { brew: () => "green from 1.4" });
  b!.serve(v2, { brew: () => "black from 2.0" });
  await eventually("both tea versions", () => caller!.lookup("tea").length === 2);
  assert.deepEqual(caller!.lookup("tea", { version: "^1.2" }).map((i) => i.version), ["1.4.0"]);
  assert.deepEqual(caller!.lookup("tea", { version: "^2" }).map((i) => i.node.name), ["t1"]);
  assert.deepEqual(caller!.lookup("tea", { labels: { zone: "a" } }).map((i) => i.node.name), ["t0"]);
  assert.equal(caller!.lookup("tea", { version: "^1.5" }).length, 0);
  assert.equal(await caller!.client(v1).brew({}), "green from 1.4");
  assert.equal(await caller!.client(v2).brew({}), "black from 2.0");
  const v3 = contract("tea", "3.0.0", { brew: unary({ input: z.object({}), output: z.string() }) });
  const error = await caller!.client(v3).brew({}).then(
    () => assert.fail("a 3.x call must not reach a 1.x or 2.x instance"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RpcError);
  assert.equal(error.code, "UNAVAILABLE");
  assert.equal(error.unprocessed, true);
  assert.match(error.message, /tea@\^3\.0\.0/);
  assert.match(error.message, /tea@1\.4\.0 on node t0/);
  assert.match(error.message, /tea@2\.0\.1 on node t1/);
});

test("watch reports instances as they come and go, graceful leave included", async (t) => {
  const name = cluster();
  const watcher = await startNode({ name: "watcher", cluster: name, lookup: fast });
  t.after(() => watcher.close());
  const abort = new AbortController();
  const seen: LookupChange[] = [];
  const done = (async () => {
    for await (const change of watcher.watch(Calculator, { signal: abort.signal })) seen.push(change);
  })();
  const server = await startNode({ name: "calc", cluster: name, listen: "tcp://127.0.0.1:0", lookup: fast });
  server.serve(Calculator, handlers);
  await eventually("an added instance", () => seen.some((c) => c.type === "added" && c.instance.node.name === "calc"));
  await server.close();
  await eventually("the instance removed after the node left", () => seen.some((c) => c.type === "removed" && c.instance.node.name === "calc"));
  assert.equal(watcher.members().find((m) => m.record.name === "calc")?.state, "left", "a graceful close is a leave, not a death");
  abort.abort();
  await done;
});

test("client-server look-up through a registry: register, look up, call, deregister on close", async (t) => {
  const registry = await startNode({ name: "registry", listen: "tcp://127.0.0.1:0" });
  const stopRegistry = serveRegistry(registry);
  const address = registry.addresses[0]!;
  const server = await startNode({ name: "r-calc", cluster: "r", registry: address, listen: "tcp://127.0.0.1:0" });
  server.serve(Calculator, handlers);
  const caller = await startNode({ name: "r-caller", cluster: "r", registry: address });
  t.after(async () => {
    await caller.close();
    stopRegistry();
    await registry.close();
  });
  await eventually("the calculator through the registry", () => caller.lookup(Calculator).length === 1);
  assert.equal(await caller.client(Calculator).add({ a: 1, b: 2 }), 3);
  const closing = Date.now();
  await server.close();
  assert.ok(Date.now() - closing < 2000, "a registry watch must not hold the drain");
  await eventually("the instance gone after deregistration", () => caller.lookup(Calculator).length === 0);
  assert.equal(caller.members().find((m) => m.record.name === "r-calc")?.state, "left");
});

test("a node that joined no look-up says so when asked to watch", async (t) => {
  const plain = await startNode({ name: "plain" });
  t.after(() => plain.close());
  assert.deepEqual(plain.lookup(Calculator), []);
  assert.throws(() => plain.watch(Calculator), /joined no look-up/);
});
