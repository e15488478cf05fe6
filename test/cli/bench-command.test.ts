import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { BenchSummary } from "../../src/cli/bench-report.ts";
import { formatProgress } from "../../src/cli/bench-report.ts";
import { formatDuration, parseDuration } from "../../src/cli/duration.ts";
import { UsageError } from "../../src/cli/errors.ts";
import { nearestRank } from "../../src/dashboard/percentiles.ts";
import { requireOrSkip } from "../support/require.ts";
import { CliProcess, CONCURRENCY, eventually, isolateRendezvous, runCli, startMember, uniqueCluster } from "./support.ts";
import { hasScript, runCliOnTerminal } from "./terminal.ts";

const CALCULATOR = "examples/calculator/service.ts";
const ADD = '{"a":1,"b":2}';

isolateRendezvous();

function parseSummary(stdout: string): BenchSummary {
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 1, `one line of JSON: ${stdout}`);
  return JSON.parse(lines[0]!) as BenchSummary;
}

/** The counts of a summary agree with each other. */
function assertAddsUp(summary: BenchSummary): void {
  const failed = Object.values(summary.errors).reduce((sum, count) => sum + count, 0);
  assert.equal(summary.ok + failed, summary.calls, "ok + errors = calls");
  const attempts = summary.instances.reduce((sum, instance) => sum + instance.attempts, 0);
  assert.ok(attempts >= summary.calls, `every call made at least one attempt: ${attempts} of ${summary.calls}`);
  if (summary.latencyMs !== null) {
    const { min, p50, p90, p99, max } = summary.latencyMs;
    assert.ok(min <= p50 && p50 <= p90 && p90 <= p99 && p99 <= max, JSON.stringify(summary.latencyMs));
  }
}

describe("amoeba bench", { concurrency: CONCURRENCY }, () => {
  const cluster = uniqueCluster("bench");
  const cleanups: Array<() => void | Promise<void>> = [];
  let address = "";
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  before(async () => {
    ({ address } = await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-a"], (fn) => cleanups.push(fn)));
    await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-b"], (fn) => cleanups.push(fn));
  });

  it("makes --calls calls through the balancer and prints a summary whose counts add up", async (t) => {
    const result = await runCli(["bench", "calculator.add", ADD, "--cluster", cluster, "--calls", "300", "--concurrency", "4", "--json"], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    const summary = parseSummary(result.stdout);
    assert.equal(summary.target, "calculator.add");
    assert.equal(summary.calls, 300);
    assert.equal(summary.ok, 300);
    assert.deepEqual(summary.errors, {});
    assert.equal(summary.stoppedBy, "calls");
    assert.equal(summary.concurrency, 4);
    assert.ok(summary.callsPerSecond > 0);
    assertAddsUp(summary);
    assert.equal(summary.instances.reduce((sum, instance) => sum + instance.attempts, 0), 300, "successful calls need no retries");
    for (const instance of summary.instances) assert.ok(["calc-a", "calc-b"].includes(instance.node), instance.node);
  });

  it("prints the summary as a table: outcomes, latency percentiles and instances", async (t) => {
    const result = await runCli(["bench", "calculator.add", ADD, "--cluster", cluster, "--calls", "100"], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^calculator\.add: 100 calls in [\d.]+ s, [\d.]+ calls\/s, concurrency 8\n/);
    assert.match(result.stdout, /\n {2}OUTCOME +CALLS\n {2}OK +100\n/);
    assert.match(result.stdout, /\n {2}latency of the calls that succeeded: min [\d.]+ ms {2}p50 [\d.]+ ms {2}p90 [\d.]+ ms {2}p99 [\d.]+ ms {2}max [\d.]+ ms\n/);
    assert.match(result.stdout, /\n {2}NODE +ATTEMPTS +FAULTS +ADDRESS\n {2}calc-[ab] +\d+ +0 +tcp:\/\//);
  });

  it("counts failed calls by error code and exits 1 when none succeeded", async (t) => {
    const [json, text] = await Promise.all([
      runCli(["bench", "calculator.add", '{"a":"one","b":2}', "--cluster", cluster, "--calls", "40", "--json"], t.after.bind(t)),
      runCli(["bench", "calculator.add", '{"a":"one","b":2}', "--cluster", cluster, "--calls", "20"], t.after.bind(t)),
    ]);
    assert.equal(json.code, 1, json.stderr);
    const summary = parseSummary(json.stdout);
    assert.equal(summary.calls, 40);
    assert.equal(summary.ok, 0);
    assert.deepEqual(summary.errors, { INVALID_ARGUMENT: 40 });
    assert.equal(summary.latencyMs, null);
    assertAddsUp(summary);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /\n {2}OK +0\n {2}INVALID_ARGUMENT +20\n/);
    assert.match(text.stdout, /latency: no call succeeded/);
  });

  it("counts calls that miss their deadline as DEADLINE_EXCEEDED", async (t) => {
    // --timeout 150 with sleeps of 300 ms: every call misses its deadline.
    const result = await runCli(["bench", address, "calculator.sleep", '{"ms":300}', "--timeout", "150", "--calls", "6", "--concurrency", "3", "--json"], t.after.bind(t));
    assert.equal(result.code, 1, result.stderr);
    const summary = parseSummary(result.stdout);
    assert.deepEqual(summary.errors, { DEADLINE_EXCEEDED: 6 });
    assertAddsUp(summary);
  });

  it("stops at --duration, or at --calls when it comes first", async (t) => {
    const [timed, both] = await Promise.all([
      runCli(["bench", address, "calculator.sleep", '{"ms":20}', "--duration", "1s", "--concurrency", "2", "--json"], t.after.bind(t)),
      runCli(["bench", address, "calculator.add", ADD, "--calls", "5", "--duration", "1m", "--json"], t.after.bind(t)),
    ]);
    assert.equal(timed.code, 0, timed.stderr);
    const summary = parseSummary(timed.stdout);
    assert.equal(summary.stoppedBy, "duration");
    assert.ok(summary.calls > 0 && summary.seconds >= 0.9, `${summary.calls} calls in ${summary.seconds} s`);
    assertAddsUp(summary);
    assert.equal(both.code, 0, both.stderr);
    assert.equal(parseSummary(both.stdout).calls, 5);
    assert.equal(parseSummary(both.stdout).stoppedBy, "calls");
  });

  it("calls one node at an address: every attempt goes there", async (t) => {
    const result = await runCli(["bench", address, "calculator.add", ADD, "--calls", "50", "--json"], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    const summary = parseSummary(result.stdout);
    assert.deepEqual(
      summary.instances.map(({ node, attempts }) => ({ node, attempts })),
      [{ node: "calc-a", attempts: 50 }],
    );
  });

  it("stops early on Ctrl-C, cancels the calls in flight and still prints the summary", async (t) => {
    const bench = new CliProcess(["bench", address, "calculator.sleep", '{"ms":50}', "--duration", "5m", "--concurrency", "2"], t.after.bind(t));
    // Without a terminal, progress comes as a plain line a second on stderr.
    await eventually("a progress line", async () => (/^bench: \d+% \d+ calls, 0 failed, \d+ calls\/s/m.test(bench.stderr) ? true : undefined), 60_000);
    bench.kill("SIGINT");
    const result = await bench.exited();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^calculator\.sleep: [1-9]\d* calls in [\d.]+ s, [\d.]+ calls\/s, concurrency 2, interrupted\n/);
    assert.match(result.stdout, /\n {2}[12] calls in flight were cancelled by the interrupt and are not counted\n/);
    assert.ok(!result.stderr.includes("\x1b"), "no terminal codes without a terminal");
  });

  it("draws a progress bar on a terminal", async (t) => {
    if (!requireOrSkip(t, hasScript, "the script command (util-linux) is needed to run bench on a terminal")) return;
    const result = await runCliOnTerminal(["bench", address, "calculator.sleep", '{"ms":20}', "--duration", "1s", "--concurrency", "2"], t.after.bind(t));
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /\r\[#*-*\] +\d+% {2}\d+ calls, 0 failed/);
    assert.match(result.stdout, /calculator\.sleep: \d+ calls in/);
  });

  it("refuses a bad command line with exit code 2 and says why", async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [["bench", "calculator.add", "{a:1}", "--cluster", cluster], /the input is not valid JSON/],
      [["bench", "calculator.add", ADD, "--cluster", cluster, "--concurrency", "0"], /--concurrency takes a whole number of at least 1, not "0"/],
      [["bench", "calculator.add", ADD, "--cluster", cluster, "--concurrency", "5000"], /--concurrency takes at most 1000/],
      [["bench", "calculator.add", ADD, "--cluster", cluster, "--calls", "0"], /--calls takes a whole number of at least 1/],
      [["bench", "calculator.add", ADD, "--cluster", cluster, "--calls", "2000000"], /--calls takes at most 1000000/],
      [["bench", "calculator.add", ADD, "--cluster", cluster, "--duration", "ten"], /--duration takes a time such as 500ms, 10s or 2m \(a bare number is ms\), not "ten"/],
      [["bench", "calculator.add", ADD, "--cluster", cluster, "--duration", "11m"], /--duration takes a time from 1ms to 10m/],
      [["bench", "add", ADD, "--cluster", cluster], /"add" is not <service\.method>/],
      [["bench", address, "calculator.mul", ADD], /calculator@1\.2\.0 has no method "mul"; its methods: add, count, sleep/],
      [["bench", "calculator.count", '{"to":3}', "--cluster", cluster], /calculator\.count is a server-stream method; bench runs unary methods/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, t.after.bind(t));
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /Run 'amoeba bench --help' for usage\./);
      assert.equal(result.stdout, "");
    }
  });

  it("exits 1 when no node serves the service, 3 when the node cannot be reached", async (t) => {
    const [missing, unreachable] = await Promise.all([
      runCli(["bench", "inventory.count", "--cluster", cluster, "--wait", "300"], t.after.bind(t)),
      runCli(["bench", "tcp://127.0.0.1:1", "calculator.add", ADD], t.after.bind(t)),
    ]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /no instance of inventory@\* in cluster/);
    assert.equal(unreachable.code, 3, unreachable.stderr);
    assert.match(unreachable.stderr, /cannot reach tcp:\/\/127\.0\.0\.1:1/);
  });
});

describe("bench's pieces", () => {
  it("reads times with a unit, bare numbers as ms", () => {
    assert.equal(parseDuration("500ms", "duration", "bench", 1, 60_000), 500);
    assert.equal(parseDuration("1.5s", "duration", "bench", 1, 60_000), 1_500);
    assert.equal(parseDuration("1m", "duration", "bench", 1, 60_000), 60_000);
    assert.equal(parseDuration("10", "duration", "bench", 1, 60_000), 10);
    assert.throws(() => parseDuration("10 sec", "duration", "bench", 1, 60_000), UsageError);
    assert.throws(() => parseDuration("2m", "duration", "bench", 1, 60_000), /from 1ms to 1m/);
    assert.equal(formatDuration(1_500), "1.5s");
  });

  it("takes nearest-rank percentiles", () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(nearestRank(sorted, 0.5), 50);
    assert.equal(nearestRank(sorted, 0.99), 99);
    assert.equal(nearestRank(sorted, 1), 100);
    assert.ok(Number.isNaN(nearestRank(new Float64Array(0), 0.5)));
  });

  it("shows progress as the larger share of calls or time", () => {
    const limits = { calls: 1_000, durationMs: 10_000, concurrency: 1 };
    assert.match(formatProgress({ done: 500, failed: 2, elapsedMs: 1_000 }, limits, undefined), /^bench: 50% 500 calls, 2 failed, 500 calls\/s, 1s$/);
    assert.match(formatProgress({ done: 10, failed: 0, elapsedMs: 7_500 }, limits, { width: 4 }), /^\[###-\] +75% {2}10 calls/);
  });
});
