import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Calculator } from "../../examples/calculator/service.ts";
import { dynamicContract } from "../../src/dashboard/dynamic-contract.ts";
import { startNode, type Node } from "../../src/index.ts";
import { isolateRendezvous, runCli, startMember, uniqueCluster } from "./support.ts";

const CALCULATOR = "examples/calculator/service.ts";

isolateRendezvous();

describe("amoeba ls --stats", () => {
  const cluster = uniqueCluster("stats");
  const cleanups: Array<() => void | Promise<void>> = [];
  let caller: Node;
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  before(async () => {
    // calc-a keeps metrics, so its errors are known; calc-b keeps none.
    await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-a", "--metrics-port", "0"], (fn) => cleanups.push(fn));
    await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-b"], (fn) => cleanups.push(fn));
    // A node that only calls: its balancer's view is what --stats gathers.
    caller = await startNode({ name: "stats-caller", cluster, listen: "tcp://127.0.0.1:0", logger: { debug() {}, info() {}, warn() {}, error() {} } });
    cleanups.push(() => caller.close({ timeout: 1_000 }));
    const until = Date.now() + 20_000;
    while (caller.lookup(Calculator).length < 2) {
      if (Date.now() > until) throw new Error("the caller did not find both calculators");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const client = caller.client(Calculator, { balance: { strategy: "round-robin" } });
    for (let i = 0; i < 20; i++) assert.equal(await client.add({ a: i, b: 1 }), i + 1);
    // Five calls the callee refuses (INVALID_ARGUMENT), sent past the caller's own check by a contract that checks nothing.
    const unchecked = caller.client(dynamicContract("calculator", "1.2.0", "sleep", "unary"), { balance: { strategy: "round-robin" } }) as unknown as Record<string, (input: unknown) => Promise<unknown>>;
    for (let i = 0; i < 10; i++) await assert.rejects(unchecked.sleep!({ ms: -1 }), (error: { code?: string }) => error.code === "INVALID_ARGUMENT");
  });

  it("shows each instance's calls in flight, shed calls and what its callers see", async (t) => {
    const result = await runCli(["ls", "calculator", "--cluster", cluster, "--stats", "--json"], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as {
      services: Array<{ instances: Array<{ node: string; stats: { inFlight: number; shed: number; callers: number; ejectedBy: number; ewmaMs: number | null; errorRate: number | null; outstanding: number } }> }>;
    };
    const instances = parsed.services[0]!.instances;
    assert.deepEqual(instances.map((i) => i.node), ["calc-a", "calc-b"]);
    for (const { node, stats } of instances) {
      assert.equal(stats.inFlight, 0, node);
      assert.equal(stats.shed, 0, node);
      assert.equal(stats.callers, 1, `${node}: one node calls it`);
      assert.equal(stats.ejectedBy, 0, node);
      // What the instance served: 10 good calls and 5 refused on calc-a; calc-b keeps no metrics, so its share is unknown.
      assert.equal(stats.errorRate, node === "calc-a" ? 0.3333 : null, node);
      assert.equal(stats.outstanding, 0, node);
      assert.ok(stats.ewmaMs !== null && stats.ewmaMs > 0, `${node}: a latency was measured (${stats.ewmaMs})`);
    }
  });

  it("prints the figures as table columns", async (t) => {
    const result = await runCli(["ls", "--cluster", cluster, "--stats"], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^SERVICE +VERSION +NODE +STATE +LOAD +IN-FLIGHT +SHED +OUTSTANDING +EWMA +ERRORS +EJECTED +ADDRESSES\n/);
    assert.match(result.stdout, /\ncalculator +1\.2\.0 +calc-a +alive +\d+ +0 +0 +0 +[\d.]+ ms +33\.3 % +0\/1 +tcp:/);
    assert.match(result.stdout, /\ncalculator +1\.2\.0 +calc-b +alive +\d+ +0 +0 +0 +[\d.]+ ms +- +0\/1 +tcp:/);
  });
});
