import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONCURRENCY, runCli } from "./support.ts";

describe("amoeba usage errors", { concurrency: CONCURRENCY }, () => {
  const mistakes: Array<[string, string[], RegExp]> = [
    ["no command", [], /^Usage: amoeba <command>/],
    ["an unknown command", ["frobnicate"], /unknown command "frobnicate"; the commands are serve, call, describe, publish, subscribe, ls, nodes, top, bench, registry, edge, dashboard, gateway, route, token, completion, help/],
    ["an unknown top-level option", ["--frob"], /unknown option --frob/],
    ["an unknown option of serve", ["serve", "x.ts", "--frob"], /amoeba serve: unknown option --frob\nRun 'amoeba serve --help'/],
    ["an unknown option of call", ["call", "--frob"], /amoeba call: unknown option --frob/],
    ["an option without its value", ["call", "tcp://127.0.0.1:1", "a.b", "--timeout"], /option --timeout needs a value/],
    ["help for an unknown command", ["help", "frobnicate"], /unknown command "frobnicate"/],
    ["ls without a cluster to look in", ["ls"], /amoeba ls: needs a cluster to look in: --cluster <name>, --seeds/],
    ["nodes with a seed that is no gossip address", ["nodes", "--seeds", "tcp://127.0.0.1:1"], /--seeds takes a gossip address udp:\/\/host:port, not "tcp:\/\/127\.0\.0\.1:1"/],
    ["call with an address and a cluster", ["call", "tcp://127.0.0.1:1", "a.b", "--cluster", "x"], /give either an address \(tcp:\/\/127\.0\.0\.1:1\) or --cluster/],
    ["call with a bad --version", ["call", "--cluster", "x", "a.b", "--version", "one"], /--version takes a range/],
    ["registry with seeds", ["ls", "--registry", "tcp://127.0.0.1:1", "--seeds", "udp://127.0.0.1:2"], /--registry is client-server look-up/],
    ["serve with a key but no cluster", ["serve", "x.ts", "--cluster-key", "k"], /--cluster-key needs a cluster to join/],
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
