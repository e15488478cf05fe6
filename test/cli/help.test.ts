import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { completionScript } from "../../src/cli/completion.ts";
import { COMMANDS } from "../../src/cli/usage.ts";
import { CONCURRENCY, runCli } from "./support.ts";

describe("amoeba help", { concurrency: CONCURRENCY }, () => {
  const helps: Array<[string, string[], RegExp]> = [
    ["--help", ["--help"], /^Usage: amoeba <command>/],
    ["-h", ["-h"], /^Usage: amoeba <command>/],
    ["help", ["help"], /^Usage: amoeba <command>/],
    ["help serve", ["help", "serve"], /^Usage: amoeba serve <module>/],
    ["help call", ["help", "call"], /^Usage: amoeba call \(<address> \| --cluster <name> \| --seeds <addr> \| --registry <addr>\) <service\.method>/],
    ["serve --help", ["serve", "--help"], /^Usage: amoeba serve <module>/],
    ["call --help", ["call", "--help"], /^Usage: amoeba call \(<address> /],
    ["call -h with other arguments", ["call", "tcp://127.0.0.1:1", "a.b", "-h"], /^Usage: amoeba call/],
    ["help --help", ["help", "--help"], /^Usage: amoeba help/],
    ["ls --help", ["ls", "--help"], /^Usage: amoeba ls \[service\] \(--cluster <name> \| --seeds <addr> \| --registry <addr>\)/],
    ["nodes --help", ["nodes", "--help"], /^Usage: amoeba nodes \(--cluster <name>/],
    ["registry --help", ["registry", "--help"], /^Usage: amoeba registry/],
    ["help ls", ["help", "ls"], /^Usage: amoeba ls/],
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

  it("--help lists every command", async (t) => {
    const result = await runCli(["--help"], t.after.bind(t));
    for (const command of ["serve", "call", "ls", "nodes", "registry", "help"]) assert.match(result.stdout, new RegExp(`\\n  ${command} +\\S`));
  });

  it("serve and call --help describe the look-up options", async (t) => {
    const [serve, call] = await Promise.all([runCli(["serve", "--help"], t.after.bind(t)), runCli(["call", "--help"], t.after.bind(t))]);
    for (const option of ["--cluster <name>", "--seeds <udp://host:port>", "--registry <address>", "--cluster-key <key>", "--gossip <udp://host:port>"]) {
      assert.ok(serve.stdout.includes(option), `serve --help lacks ${option}`);
      assert.ok(call.stdout.includes(option), `call --help lacks ${option}`);
    }
    assert.match(serve.stdout, /AMOEBA_CLUSTER_KEY/);
    assert.match(call.stdout, /--version <range>/);
  });

  it("commands that listen take --tls-cert, --tls-key, --tls-ca and --policy, commands that dial --tls-ca, --tls-cert and --tls-key; completion offers them", () => {
    const options = (name: string): string[] => Object.keys(COMMANDS.find((command) => command.name === name)!.options);
    for (const name of ["serve", "registry", "gateway"]) {
      for (const option of ["tls-cert", "tls-key", "tls-ca", "policy"]) assert.ok(options(name).includes(option), `${name} lacks --${option}`);
    }
    for (const name of ["call", "describe", "publish", "subscribe", "ls", "nodes", "top", "bench", "dashboard"]) {
      for (const option of ["tls-ca", "tls-cert", "tls-key"]) assert.ok(options(name).includes(option), `${name} lacks --${option}`);
    }
    for (const option of ["tls-cert", "tls-key", "cluster-tls-ca", "cluster-tls-cert", "cluster-tls-key", "policy"]) assert.ok(options("edge").includes(option), `edge lacks --${option}`);
    assert.match(completionScript("bash", COMMANDS), /serve\) opts='[^']*--tls-ca[^']*--policy/);
    assert.match(completionScript("fish", COMMANDS), /-l cluster-tls-cert/);
  });

  it("serve --help explains mutual TLS and the policy file", async (t) => {
    const result = await runCli(["serve", "--help"], t.after.bind(t));
    assert.match(result.stdout, /--tls-cert <file> +Listen with TLS, with this PEM certificate \(chain\); needs --tls-key\. A credential/);
    assert.match(result.stdout, /--tls-ca <file> +Mutual TLS: callers must present a certificate signed by this PEM CA/);
    assert.match(result.stdout, /--policy <file> +Authorize every call the node serves with this JSON policy/);
    assert.match(result.stdout, /amoeba serve \.\/services\.ts --listen tcp:\/\/0\.0\.0\.0:7400 --tls-cert node\.crt --tls-key node\.key --tls-ca ca\.crt --policy policy\.json/);
  });

  it("--version prints the package version", async (t) => {
    const result = await runCli(["--version"], t.after.bind(t));
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
