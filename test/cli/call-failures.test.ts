import assert from "node:assert/strict";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CONCURRENCY, runCli } from "./support.ts";

describe("amoeba call failures", { concurrency: CONCURRENCY }, () => {
  it("bad JSON input exits 2 with a clear message", async (t) => {
    const result = await runCli(["call", "tcp://127.0.0.1:7400", "calculator.add", "{a:1}"], t.after.bind(t));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^amoeba call: the input is not valid JSON \(.+\); quote it for the shell/);
  });

  it("a node that is not there exits 3 (tcp)", async (t) => {
    const port = await closedPort();
    const result = await runCli(["call", `tcp://127.0.0.1:${port}`, "calculator.add"], t.after.bind(t));
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^ERROR UNAVAILABLE: cannot connect to tcp:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it("a node that is not there exits 3 (unix socket)", async (t) => {
    const result = await runCli(["call", `unix://${join(tmpdir(), "amoeba-no-such.sock")}`, "calculator.add"], t.after.bind(t));
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^ERROR UNAVAILABLE: cannot connect to unix:/);
  });

  const usage: Array<[string, string[], RegExp]> = [
    ["a missing method", ["call", "tcp://127.0.0.1:7400"], /expects <address> <service\.method>/],
    ["a target without a method", ["call", "tcp://127.0.0.1:7400", "calculator"], /"calculator" is not <service\.method>/],
    ["an address of no known form", ["call", "localhost:7400", "calculator.add"], /"localhost:7400" is not an address/],
    ["an in-process address", ["call", "inproc://x", "calculator.add"], /is not an address the CLI can use/],
    ["--meta without =", ["call", "tcp://127.0.0.1:7400", "calculator.add", "--meta", "novalue"], /--meta takes key=value/],
    ["an unknown --kind", ["call", "tcp://127.0.0.1:7400", "calculator.add", "--kind", "duplex"], /--kind must be one of/],
    ["a reserved method name", ["call", "tcp://127.0.0.1:7400", "calculator.constructor"], /"constructor" cannot be a method name/],
    ["a service name a contract cannot have", ["call", "tcp://127.0.0.1:7400", "9lives.get"], /service name "9lives"/],
    ["a non-numeric --timeout", ["call", "tcp://127.0.0.1:7400", "calculator.add", "--timeout", "soon"], /--timeout takes a time such as 500ms, 10s or 2m \(a bare number is ms\), not "soon"/],
  ];
  for (const [name, args, message] of usage) {
    it(`${name} exits 2`, async (t) => {
      const result = await runCli(args, t.after.bind(t));
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    });
  }
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
