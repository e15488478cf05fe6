import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Calculator } from "../../examples/calculator/service.ts";
import { startNode, type Node, type NodeStats } from "../../src/index.ts";
import { bucketQuantile } from "../../src/dashboard/percentiles.ts";
import { compareReadings, isReadable, type TopFrame } from "../../src/cli/top-figures.ts";
import { CONCURRENCY, isolateRendezvous, runCli, startMember, uniqueCluster } from "./support.ts";
import { hasScript, runCliOnTerminal } from "./terminal.ts";
import { requireOrSkip } from "../support/require.ts";

const CALCULATOR = "examples/calculator/service.ts";
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

isolateRendezvous();

/**
 * Calls calculator.add over and over from a node of the cluster, one call in
 * five with a bad input, until stopped — at most `maxCalls` calls and `maxMs`.
 */
function startLoad(caller: Node, maxCalls: number, maxMs: number): { stop(): Promise<{ ok: number; failed: number }> } {
  const client = caller.client(Calculator, { balance: { strategy: "round-robin" } });
  const until = Date.now() + maxMs;
  let stopped = false;
  let ok = 0;
  let failed = 0;
  const loop = (async () => {
    for (let i = 0; i < maxCalls && !stopped && Date.now() < until; i++) {
      try {
        // A string where a number belongs: the callee answers INVALID_ARGUMENT. An odd
        // period, so that round-robin sends bad inputs to each calculator in turn.
        await client.add(i % 5 === 0 ? ({ a: "one", b: 1 } as unknown as { a: number; b: number }) : { a: i, b: 1 }, { timeout: 5_000 });
        ok++;
      } catch {
        failed++;
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { ok, failed };
    },
  };
}

describe("amoeba top", { concurrency: CONCURRENCY }, () => {
  const cluster = uniqueCluster("top");
  const cleanups: Array<() => void | Promise<void>> = [];
  let caller: Node;
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  before(async () => {
    // calc-a keeps metrics, calc-b does not: top shows calc-a's figures and names calc-b.
    await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-a", "--metrics-port", "0"], (fn) => cleanups.push(fn));
    await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-b"], (fn) => cleanups.push(fn));
    caller = await startNode({ name: "top-caller", cluster, listen: "tcp://127.0.0.1:0", logger: SILENT });
    cleanups.push(() => caller.close({ timeout: 1_000 }));
    const until = Date.now() + 20_000;
    while (caller.lookup(Calculator).length < 2) {
      if (Date.now() > until) throw new Error("the caller did not find both calculators");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it("--once --json shows the busy method with its rate, errors and latency while calls run", async (t) => {
    const load = startLoad(caller, 200_000, 40_000);
    let result;
    try {
      result = await runCli(["top", "--cluster", cluster, "--once", "--json"], t.after.bind(t));
    } finally {
      const done = await load.stop();
      assert.ok(done.ok > 0 && done.failed > 0, `the load ran: ${JSON.stringify(done)}`);
    }
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, 1, "--once prints one reading");
    const frame = JSON.parse(lines[0]!) as TopFrame;
    assert.equal(frame.nodes, 3, "calc-a, calc-b and the caller answered");
    assert.deepEqual(frame.withoutMetrics, ["calc-b", "top-caller"]);
    const add = frame.methods.find((m) => m.service === "calculator" && m.method === "add");
    assert.ok(add, `calculator.add is listed: ${result.stdout}`);
    assert.ok(add.callsPerSecond > 0, `a nonzero rate: ${add.callsPerSecond}`);
    assert.equal(add.nodes, 1, "only calc-a reports per-method figures");
    assert.ok(add.errors.INVALID_ARGUMENT! > 0, `the bad inputs show as INVALID_ARGUMENT: ${JSON.stringify(add.errors)}`);
    assert.ok(add.errorRate > 0 && add.errorRate < 0.5, `about one call in five failed: ${add.errorRate}`);
    assert.ok(add.p50Ms !== null && add.p99Ms !== null && add.p50Ms > 0 && add.p50Ms <= add.p99Ms, `p50 ${add.p50Ms} ≤ p99 ${add.p99Ms}`);
    assert.ok(!frame.methods.some((m) => m.service.startsWith("amoeba.")), "Amoeba's own services are left out");
  });

  it("prints a plain table, without terminal codes, when stdout is no terminal", async (t) => {
    const load = startLoad(caller, 200_000, 40_000);
    let result;
    try {
      result = await runCli(["top", "--cluster", cluster, "--once", "--interval", "500ms"], t.after.bind(t));
    } finally {
      await load.stop();
    }
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stdout.includes("\x1b"), "no ANSI codes");
    assert.match(result.stdout, new RegExp(`^\\d\\d:\\d\\d:\\d\\d  cluster "${cluster}" on this machine: 3 nodes, [\\d.]+ calls/s`));
    assert.match(result.stdout, /\nMETHOD +CALLS\/S +ERRORS +P50 +P99 +IN-FLIGHT +NODES +ERROR CODES\n/);
    assert.match(result.stdout, /\ncalculator\.add +[\d.]+ +[\d.]+ % +[\d.]+ ms +[\d.]+ ms +[\d.]+ +1 +INVALID_ARGUMENT \d+\n/);
    assert.match(result.stdout, /no per-method figures from calc-b, top-caller: serve with --metrics-port/);
  });

  it("redraws in place on a terminal", async (t) => {
    if (!requireOrSkip(t, hasScript, "the script command (util-linux) is needed to run top on a terminal")) return;
    const result = await runCliOnTerminal(["top", "--cluster", cluster, "--once", "--interval", "200ms"], t.after.bind(t));
    assert.equal(result.code, 0, result.stdout);
    assert.ok(result.stdout.includes("\x1b[H\x1b[2J"), `clears the screen before drawing: ${JSON.stringify(result.stdout)}`);
    assert.match(result.stdout, /3 nodes/);
  });

  it("refuses a bad command line with exit code 2", async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [["top"], /needs a cluster to watch/],
      [["top", "--cluster", cluster, "--interval", "1"], /--interval takes a time from 100ms to 10m, not 1/],
      [["top", "--cluster", cluster, "--interval", "10ms"], /--interval takes a time from 100ms to 10m/],
      [["top", "calculator", "--cluster", cluster], /takes no arguments/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, t.after.bind(t));
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /Run 'amoeba top --help' for usage\./);
    }
  });
});

describe("top's figures", () => {
  const bounds = [0.001, 0.01, 0.1];
  const stats = (node: string, methods: NodeStats["methods"]): NodeStats => ({
    node,
    nodeId: `${node}-id`,
    services: [],
    server: { inFlight: 0, limit: Infinity, shed: 0, services: { "calculator@1.2.0": { service: "calculator", version: "1.2.0", inFlight: 2, limit: Infinity, shed: 0 } } },
    ...(methods !== undefined ? { methods } : {}),
  });
  const add = (ok: number, invalid: number, buckets: number[], seconds: number) => ({
    service: "calculator",
    method: "add",
    calls: { OK: ok, ...(invalid > 0 ? { INVALID_ARGUMENT: invalid } : {}) },
    bounds,
    buckets,
    seconds,
  });

  it("turns two readings into rates, error rates and percentiles, summed over nodes", () => {
    const before = { at: 0, nodes: new Map([["a-id", stats("a", [add(100, 0, [100, 0, 0, 0], 0.05)])], ["b-id", stats("b", [])]]) };
    const after = {
      at: 2_000,
      nodes: new Map([
        ["a-id", stats("a", [add(300, 10, [300, 10, 0, 0], 0.25)])],
        ["b-id", stats("b", [add(100, 0, [0, 100, 0, 0], 0.5)])],
        // No baseline yet: its counts since it started are not the interval's.
        ["c-id", stats("c", [add(5_000, 0, [5_000, 0, 0, 0], 1)])],
        ["d-id", stats("d", undefined)],
      ]),
    };
    const frame = compareReadings(before, after);
    assert.equal(frame.seconds, 2);
    assert.equal(frame.nodes, 4);
    assert.deepEqual(frame.withoutMetrics, ["d"]);
    assert.equal(frame.inFlightNow, 8, "calls in flight now, on every node");
    assert.equal(frame.methods.length, 1);
    const [figures] = frame.methods;
    // a: 200 OK + 10 failed; b: 100 OK, all in 2 s.
    assert.equal(figures!.callsPerSecond, 155);
    assert.equal(figures!.errorRate, Math.round((10 / 310) * 10_000) / 10_000);
    assert.deepEqual(figures!.errors, { INVALID_ARGUMENT: 10 });
    assert.equal(figures!.nodes, 2);
    assert.equal(figures!.inFlight, 0.35, "0.7 s of calls over 2 s");
    // 200 calls ≤ 1 ms, 110 in (1 ms, 10 ms]: the median is in the first bucket, p99 in the second.
    assert.ok(figures!.p50Ms! > 0 && figures!.p50Ms! <= 1, `p50 ${figures!.p50Ms}`);
    assert.ok(figures!.p99Ms! > 1 && figures!.p99Ms! <= 10, `p99 ${figures!.p99Ms}`);
  });

  it("estimates a percentile within its bucket, and says nothing of an empty histogram", () => {
    assert.ok(Math.abs(bucketQuantile(bounds, [0, 10, 0, 0], 0.5) - 0.0055) < 1e-12, "half way through the (1 ms, 10 ms] bucket");
    assert.equal(bucketQuantile(bounds, [0, 0, 0, 4], 0.99), 0.1, "past the last bound: the last bound");
    assert.ok(Number.isNaN(bucketQuantile(bounds, [0, 0, 0, 0], 0.5)));
  });

  it("leaves out answers of another shape instead of failing", () => {
    assert.equal(isReadable(stats("a", [add(1, 0, [1, 0, 0, 0], 0)])), true);
    assert.equal(isReadable({ node: "x" }), false);
    assert.equal(isReadable(null), false);
    assert.equal(isReadable({ ...stats("a", undefined), methods: [{ service: "s", method: "m", calls: { OK: "1" }, bounds, buckets: [0, 0, 0, 0], seconds: 0 }] }), false);
    assert.equal(isReadable({ ...stats("a", undefined), methods: [{ ...add(1, 0, [1, 0, 0], 0) }] }), false, "one bucket too few");
  });
});
