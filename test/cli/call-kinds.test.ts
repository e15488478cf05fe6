import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CONCURRENCY, CliProcess, runCli, startServe } from "./support.ts";

describe("amoeba call: method kinds", { concurrency: CONCURRENCY }, () => {
  let address = "";
  let server: CliProcess | undefined;
  // Clean-ups run after the whole suite, not after the hook that made them.
  const cleanups: Array<() => void | Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });
  before(async () => {
    ({ server, address } = await startServe(["test/cli/fixtures/streams.ts", "--listen", "tcp://127.0.0.1:0"], (fn) => cleanups.push(fn)));
    assert.match(server.stdout, /serving calculator@1\.2\.0, test\.streams@0\.3\.1 on /);
  });

  it("--kind client-stream sends the items of a JSON array", async (t) => {
    const result = await runCli(["call", address, "test.streams.sum", "[1,2,3]", "--kind", "client-stream"], t.after.bind(t));
    assert.deepEqual([result.code, result.stdout], [0, "6\n"], result.stderr);
  });

  it("a bidi-stream method, its kind learnt from the node, sends an array and prints each item received", async (t) => {
    const result = await runCli(["call", address, "test.streams.double", "[1,2,3]"], t.after.bind(t));
    assert.deepEqual([result.code, result.stdout], [0, "2\n4\n6\n"], result.stderr);
  });

  it("a client-stream call needs an array (exit 2), also when the node said the kind", async (t) => {
    const result = await runCli(["call", address, "test.streams.sum", "3"], t.after.bind(t));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /takes a JSON array/);
  });

  // A kind forced wrongly on the command line fails with a hint: the node
  // refuses it (FAILED_PRECONDITION, saying the kind), or, with a node that
  // does not check kinds, the call ends at the deadline.
  it("a stream method forced to unary fails with a hint to use --stream", async (t) => {
    const result = await runCli(["call", address, "calculator.count", '{"to":3}', "--kind", "unary", "--timeout", "300"], t.after.bind(t));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^ERROR (DEADLINE_EXCEEDED|FAILED_PRECONDITION): .*\n(?:.*\n)*? {2}hint: .*call it with --stream\n$/);
  });

  it("a unary method called with --stream fails with a hint to drop it", async (t) => {
    const result = await runCli(["call", address, "calculator.add", '{"a":1,"b":2}', "--stream", "--timeout", "300"], t.after.bind(t));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^ERROR (DEADLINE_EXCEEDED|FAILED_PRECONDITION): [^]*call it without --stream/);
  });
});
