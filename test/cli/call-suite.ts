import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CONCURRENCY, runCli, startServe } from "./support.ts";

const CALCULATOR = "examples/calculator/service.ts";

/**
 * The calls every transport must carry alike; each transport's test file
 * runs this suite (one file each, so each stays well within the runner's
 * per-file time limit on a busy machine).
 */
export function callSuite(transport: "tcp" | "unix socket"): void {
  describe(`amoeba call over ${transport}`, { concurrency: CONCURRENCY }, () => {
    let address = "";
    // Clean-ups run after the whole suite, not after the hook that made them.
    const cleanups: Array<() => void | Promise<void>> = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });
    before(async () => {
      let listen = "tcp://127.0.0.1:0";
      if (transport === "unix socket") {
        const dir = await mkdtemp(join(tmpdir(), "amoeba-cli-"));
        cleanups.push(() => rm(dir, { recursive: true, force: true }));
        listen = `unix://${join(dir, "calc.sock")}`;
      }
      ({ address } = await startServe([CALCULATOR, "--listen", listen, "--name", "calc-1"], (fn) => cleanups.push(fn)));
      if (transport === "tcp") assert.match(address, /^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
      else assert.equal(address, listen);
    });

    it("calculator.add prints 3 and exits 0", async (t) => {
      const result = await runCli(["call", address, "calculator.add", '{"a":1,"b":2}'], t.after.bind(t));
      assert.deepEqual([result.code, result.stdout, result.stderr], [0, "3\n", ""]);
    });

    it("a stream prints its items one per line; the node's reflection says it streams", async (t) => {
      const result = await runCli(["call", address, "calculator.count", '{"to":3}'], t.after.bind(t));
      assert.deepEqual([result.code, result.stdout], [0, "1\n2\n3\n"], result.stderr);
    });

    it("--stream says the kind without asking the node", async (t) => {
      const result = await runCli(["call", address, "calculator.count", '{"to":2}', "--stream", "--json"], t.after.bind(t));
      assert.deepEqual([result.code, result.stdout], [0, "1\n2\n"], result.stderr);
    });

    it("an unknown method prints UNIMPLEMENTED and exits 1", async (t) => {
      const result = await runCli(["call", address, "calculator.divide", '{"a":1,"b":2}'], t.after.bind(t));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^ERROR UNIMPLEMENTED: .*has no method "divide"; its methods: add, count, sleep\n/);
      assert.equal(result.stdout, "");
    });

    it("an unknown service prints NOT_FOUND with what the node serves", async (t) => {
      const result = await runCli(["call", address, "payments.charge"], t.after.bind(t));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^ERROR NOT_FOUND: .*it serves: (.*, )?calculator@1\.2\.0/);
    });

    it("an input the contract rejects prints INVALID_ARGUMENT and each issue", async (t) => {
      const result = await runCli(["call", address, "calculator.add", '{"a":"one"}'], t.after.bind(t));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^ERROR INVALID_ARGUMENT: /);
      assert.match(result.stderr, /\n {2}issue at "a": /);
      assert.match(result.stderr, /\n {2}issue at "b": /);
    });

    it("--json prints an error as one JSON object", async (t) => {
      const result = await runCli(["call", address, "calculator.divide", "--json"], t.after.bind(t));
      assert.equal(result.code, 1);
      const lines = result.stderr.trim().split("\n");
      assert.equal(lines.length, 1);
      const { error } = JSON.parse(lines[0]!) as { error: { code: string; node: string; method: string } };
      assert.deepEqual([error.code, error.node, error.method], ["UNIMPLEMENTED", "calc-1", "divide"]);
    });

    it("--timeout bounds the call: DEADLINE_EXCEEDED, exit 1", async (t) => {
      const result = await runCli(["call", address, "calculator.sleep", '{"ms":60000}', "--timeout", "200"], t.after.bind(t));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^ERROR DEADLINE_EXCEEDED: /);
    });

    it("--meta is accepted and sent", async (t) => {
      const result = await runCli(["call", address, "calculator.add", '{"a":2,"b":2}', "--meta", "traceparent=00-1-2-01", "--meta", "k=v=w"], t.after.bind(t));
      assert.deepEqual([result.code, result.stdout], [0, "4\n"]);
    });
  });
}
