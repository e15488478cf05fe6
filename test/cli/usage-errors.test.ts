import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONCURRENCY, runCli } from "./support.ts";

describe("amoeba usage errors", { concurrency: CONCURRENCY }, () => {
  const mistakes: Array<[string, string[], RegExp]> = [
    ["no command", [], /^Usage: amoeba <command>/],
    ["an unknown command", ["frobnicate"], /unknown command "frobnicate"; the commands are serve, call, help/],
    ["an unknown top-level option", ["--frob"], /unknown option --frob/],
    ["an unknown option of serve", ["serve", "x.ts", "--frob"], /amoeba serve: unknown option --frob\nRun 'amoeba serve --help'/],
    ["an unknown option of call", ["call", "--frob"], /amoeba call: unknown option --frob/],
    ["an option without its value", ["call", "tcp://127.0.0.1:1", "a.b", "--timeout"], /option --timeout needs a value/],
    ["help for an unknown command", ["help", "frobnicate"], /unknown command "frobnicate"/],
  ];
  for (const [name, args, message] of mistakes) {
    it(`${name} is a usage error: exit 2 with a clear message`, async (t) => {
      const result = await runCli(args, t.after.bind(t));
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, "");
    });
  }
});
