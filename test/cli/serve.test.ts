import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { Calculator } from "../../examples/calculator/contract.ts";
import { connect, type RpcError } from "../../src/index.ts";
import { TracesContract } from "../../src/observe/traces-contract.ts";
import { CONCURRENCY, CliProcess, runCli, startServe } from "./support.ts";

describe("amoeba serve: drain", () => {
  it("on SIGTERM drains: an in-flight sleep call completes, then serve exits 0", async (t) => {
    const cleanup = t.after.bind(t);
    const { server, address } = await startServe(["test/cli/fixtures/observed-calculator.ts", "--listen", "tcp://127.0.0.1:0", "--name", "calc-1"], cleanup);
    const caller = new CliProcess(["call", address, "calculator.sleep", '{"ms":1500}'], cleanup);
    await server.waitFor(/sleep started 1500\n/);
    server.kill("SIGTERM");
    const [call, serve] = await Promise.all([caller.exited(), server.exited()]);
    assert.deepEqual([call.code, call.stdout], [0, "1500\n"], call.stderr);
    assert.equal(serve.code, 0, serve.stderr);
    assert.match(serve.stdout, /amoeba: node calc-1 draining on SIGTERM/);
    assert.match(serve.stdout, /amoeba: node calc-1 stopped\n$/);
  });

  it("a second signal stops at once", async (t) => {
    const cleanup = t.after.bind(t);
    const { server, address } = await startServe(["test/cli/fixtures/observed-calculator.ts", "--listen", "tcp://127.0.0.1:0"], cleanup);
    const caller = new CliProcess(["call", address, "calculator.sleep", '{"ms":60000}', "--timeout", "0"], cleanup);
    await server.waitFor(/sleep started 60000\n/);
    server.kill("SIGTERM");
    await server.waitFor(/draining on SIGTERM/);
    server.kill("SIGINT");
    const serve = await server.exited(10_000);
    assert.equal(serve.code, 130, serve.stderr);
    assert.match(serve.stdout, /stopping at once on a second SIGINT/);
    const call = await caller.exited();
    assert.equal(call.code, 1);
    assert.match(call.stderr, /^ERROR UNAVAILABLE: /);
  });

  it("Ctrl-C on a call in flight cancels it: ERROR CANCELLED, exit 130", async (t) => {
    const cleanup = t.after.bind(t);
    const { server, address } = await startServe(["test/cli/fixtures/observed-calculator.ts", "--listen", "tcp://127.0.0.1:0"], cleanup);
    const caller = new CliProcess(["call", address, "calculator.sleep", '{"ms":60000}', "--timeout", "0"], cleanup);
    await server.waitFor(/sleep started 60000\n/);
    caller.kill("SIGINT");
    const call = await caller.exited(10_000);
    assert.equal(call.code, 130, call.stderr);
    assert.match(call.stderr, /^ERROR CANCELLED: .*interrupted by SIGINT/);
  });
});

describe("amoeba serve: what a module exports", { concurrency: CONCURRENCY }, () => {
  for (const [shape, module] of [
    ["a default export", "test/cli/fixtures/default-export.ts"],
    ["a contract plus handlers", "test/cli/fixtures/contract-and-handlers.ts"],
  ] as const) {
    it(`serves ${shape}, and SIGINT stops it with exit 0`, async (t) => {
      const { server, address } = await startServe([module, "--listen", "tcp://127.0.0.1:0", "--name", "calc-2"], t.after.bind(t));
      assert.match(server.stdout, /^amoeba: node calc-2 serving calculator@1\.2\.0 on tcp:\/\/127\.0\.0\.1:\d+\n$/);
      const result = await runCli(["call", address, "calculator.add", '{"a":20,"b":22}'], t.after.bind(t));
      assert.equal(result.stdout, "42\n", result.stderr);
      server.kill("SIGINT");
      assert.equal((await server.exited()).code, 0);
    });
  }

  it("prints one ready line per listen address", async (t) => {
    const { server } = await startServe(
      ["examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--listen", "tcp://127.0.0.1:0", "--name", "calc-3"],
      t.after.bind(t),
    );
    await server.waitFor(/serving [^]*serving .*\n/);
    assert.equal(server.stdout.match(/^amoeba: node calc-3 serving calculator@1\.2\.0 on tcp:/gm)?.length, 2);
  });

  const failures: Array<[string, string[], number, RegExp]> = [
    [
      "a module that exports nothing servable",
      ["test/cli/fixtures/no-services.ts"],
      1,
      /exports nothing to serve \(found: greeting \(a string\), shout \(a function\)\)\. Expected: export const services = \[\{ contract, handlers \}/,
    ],
    ["a module that does not exist", ["test/cli/fixtures/nowhere.ts"], 1, /no such file: .*nowhere\.ts/],
    ["two contracts and one handlers", ["test/cli/fixtures/ambiguous.ts"], 1, /several contracts \(Left, Right\).*ambiguous/],
    ["handlers missing a method", ["test/cli/fixtures/missing-handler.ts"], 1, /cannot serve calculator@1\.2\.0 .*no handler for method "count"/],
    ["no module", [], 2, /expects the module to serve/],
    ["a listen address of no known form", ["examples/calculator/service.ts", "--listen", "7400"], 2, /"7400" is not an address/],
    ["a bad --drain-timeout", ["examples/calculator/service.ts", "--drain-timeout", "soon"], 2, /--drain-timeout takes a time such as 500ms/],
    ["a bad --metrics-port", ["examples/calculator/service.ts", "--metrics-port", "99999"], 2, /--metrics-port takes a port number from 0 to 65535, not "99999"/],
    ["a --recent-calls of 0", ["examples/calculator/service.ts", "--recent-calls", "0"], 2, /--recent-calls takes a whole number of at least 1, not "0"/],
    ["too many --recent-calls", ["examples/calculator/service.ts", "--recent-calls", "100001"], 2, /--recent-calls keeps at most 100000 calls, not 100001/],
    ["a --concurrency of 0", ["examples/calculator/service.ts", "--concurrency", "0"], 2, /--concurrency takes a whole number of at least 1, not "0"/],
  ];
  for (const [name, args, code, message] of failures) {
    it(`fails clearly on ${name} (exit ${code})`, async (t) => {
      const result = await runCli(["serve", ...args], t.after.bind(t));
      assert.equal(result.code, code, result.stderr);
      assert.match(result.stderr, /^amoeba serve: /);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, "");
    });
  }

  it("--concurrency sheds the calls past the limit with RESOURCE_EXHAUSTED, not processed", async (t) => {
    const { server, address } = await startServe(["test/cli/fixtures/observed-calculator.ts", "--listen", "tcp://127.0.0.1:0", "--concurrency", "1"], t.after.bind(t));
    const peer = await connect(address, { logger: { debug() {}, info() {}, warn() {}, error() {} } });
    t.after(() => peer.close());
    const calculator = peer.client(Calculator);
    const slow = calculator.sleep({ ms: 1_000 });
    await server.waitFor(/sleep started 1000\n/);
    await assert.rejects(calculator.add({ a: 1, b: 2 }), (error: RpcError) => error.code === "RESOURCE_EXHAUSTED" && error.unprocessed);
    await slow;
    assert.equal(await calculator.add({ a: 1, b: 2 }), 3);
  });

  it("--metrics-port serves Prometheus metrics that count the calls served", async (t) => {
    const { server, address } = await startServe(["examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--metrics-port", "0", "--name", "calc-m"], t.after.bind(t));
    const url = (await server.waitFor(/metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)\n/))[1]!;
    const peer = await connect(address, { logger: { debug() {}, info() {}, warn() {}, error() {} } });
    t.after(() => peer.close());
    for (let i = 0; i < 3; i++) await peer.client(Calculator).add({ a: i, b: 1 });
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.match(text, /\namoeba_server_calls_total\{service="calculator",method="add",code="OK"\} 3\n/);
    assert.equal((await fetch(url.replace("/metrics", "/other"))).status, 404);
  });

  it("--recent-calls keeps the calls served, with their trace ids, for amoeba.traces", async (t) => {
    const { address } = await startServe(["examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--recent-calls", "2"], t.after.bind(t));
    const peer = await connect(address, { logger: { debug() {}, info() {}, warn() {}, error() {} } });
    t.after(() => peer.close());
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    for (let i = 0; i < 3; i++) await peer.client(Calculator).add({ a: i, b: 1 }, { meta: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    const report = await peer.client(TracesContract).recent({});
    assert.equal(report.capacity, 2);
    assert.deepEqual(report.calls.map((call) => [call.traceId, call.method, call.code]), [
      [traceId, "add", "OK"],
      [traceId, "add", "OK"],
    ]);
  });

  it("fails clearly when the address is taken (exit 1)", async (t) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise((resolve) => taken.close(resolve)));
    const { port } = taken.address() as { port: number };
    const result = await runCli(["serve", "examples/calculator/service.ts", "--listen", `tcp://127.0.0.1:${port}`], t.after.bind(t));
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^amoeba serve: cannot listen on tcp://127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  });
});
