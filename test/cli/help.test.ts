import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONCURRENCY, runCli } from "./support.ts";

describe("amoeba help", { concurrency: CONCURRENCY }, () => {
  const helps: Array<[string, string[], RegExp]> = [
    ["--help", ["--help"], /^Usage: amoeba <command>/],
    ["-h", ["-h"], /^Usage: amoeba <command>/],
    ["help", ["help"], /^Usage: amoeba <command>/],
    ["help serve", ["help", "serve"], /^Usage: amoeba serve <module>/],
    ["help call", ["help", "call"], /^Usage: amoeba call <address> <service\.method>/],
    ["serve --help", ["serve", "--help"], /^Usage: amoeba serve <module>/],
    ["call --help", ["call", "--help"], /^Usage: amoeba call <address>/],
    ["call -h with other arguments", ["call", "tcp://127.0.0.1:1", "a.b", "-h"], /^Usage: amoeba call/],
    ["help --help", ["help", "--help"], /^Usage: amoeba help/],
  ];
  for (const [name, args, usage] of helps) {
    it(`${name} prints usage, options and an example, and exits 0`, async (t) => {
      const result = await runCli(args, t.after.bind(t));
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, usage);
      assert.match(result.stdout, /\nOptions:\n/);
      assert.match(result.stdout, /\nExamples?:\n {2}amoeba /);
      assert.equal(result.stderr, "");
    });
  }

  it("--version prints the package version", async (t) => {
    const result = await runCli(["--version"], t.after.bind(t));
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
