// Bearer tokens from the command line: `amoeba token` makes a token and its entry; `amoeba serve --tokens`
// with a policy file takes calls from the token the policy names ($AMOEBA_TOKEN or $AMOEBA_TOKEN_FILE),
// refuses an unknown token at the handshake and a caller without one UNAUTHENTICATED; a registry with
// --tokens binds a node's record to its token; malformed token files and variables are usage errors (exit 2).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { hashToken } from "../../src/index.ts";
import { CliProcess, CONCURRENCY, isolateRendezvous, runCli, type Cleanup } from "./support.ts";

isolateRendezvous();

const dir = mkdtempSync(join(tmpdir(), "amoeba-cli-tokens-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** `amoeba token --name <name>`: the token, and the entry it printed for --tokens. */
async function makeToken(name: string, cleanup: Cleanup): Promise<{ token: string; entry: { name: string; sha256: string } }> {
  const made = await runCli(["token", "--name", name], cleanup);
  assert.equal(made.code, 0, made.stderr);
  const token = made.stdout.trim();
  const entry = JSON.parse(/: (\{.*\})$/m.exec(made.stderr)![1]!) as { name: string; sha256: string };
  return { token, entry };
}

describe("amoeba serve and registry with --tokens", { concurrency: CONCURRENCY, timeout: 120_000 }, () => {
  const cleanups: Array<() => void | Promise<void>> = [];
  const cleanup: Cleanup = (fn) => cleanups.push(fn);
  let address = "";
  let ops = { token: "", entry: { name: "", sha256: "" } };
  let audit = { token: "", entry: { name: "", sha256: "" } };
  before(async () => {
    [ops, audit] = await Promise.all([makeToken("ops", cleanup), makeToken("audit", cleanup)]);
    const tokens = file("tokens.json", JSON.stringify({ tokens: [ops.entry, audit.entry] }));
    const policy = file("policy.json", JSON.stringify({ rules: [{ callers: ["token:ops"], methods: ["calculator.*"] }, { callers: ["token:*"], methods: ["amoeba.reflect.*"] }] }));
    const server = new CliProcess(["serve", "examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--name", "calc-tokens", "--tokens", tokens, "--policy", policy], cleanup);
    address = (await server.waitFor(/serving calculator@1\.2\.0 on (tcp:\/\/127\.0\.0\.1:\d+)\n/))[1]!;
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  it("amoeba token prints a token and the entry of its digest, never the token twice", () => {
    assert.match(ops.token, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(ops.entry, { name: "ops", sha256: hashToken(ops.token) });
    assert.notEqual(ops.token, audit.token);
  });

  it("the token the policy names calls, from $AMOEBA_TOKEN and from $AMOEBA_TOKEN_FILE", async (t) => {
    const inline = await runCli(["call", address, "calculator.add", '{"a":20,"b":22}'], t.after.bind(t), undefined, { AMOEBA_TOKEN: ops.token });
    assert.deepEqual([inline.code, inline.stdout], [0, "42\n"], inline.stderr);
    const tokenFile = file("ops.token", `${ops.token}\n`);
    const fromFile = await runCli(["call", address, "calculator.add", '{"a":1,"b":2}'], t.after.bind(t), undefined, { AMOEBA_TOKEN_FILE: tokenFile });
    assert.deepEqual([fromFile.code, fromFile.stdout], [0, "3\n"], fromFile.stderr);
  });

  it("another token the node takes is known, and refused PERMISSION_DENIED where the policy does not name it; describe lets it in", async (t) => {
    const refused = await runCli(["call", address, "calculator.add", '{"a":1,"b":2}'], t.after.bind(t), undefined, { AMOEBA_TOKEN: audit.token });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /PERMISSION_DENIED/);
    const described = await runCli(["describe", address, "calculator"], t.after.bind(t), undefined, { AMOEBA_TOKEN: audit.token });
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /add/);
  });

  it("no token: UNAUTHENTICATED; an unknown token: refused at the handshake, exit 3", async (t) => {
    const none = await runCli(["call", address, "calculator.add", '{"a":1,"b":2}'], t.after.bind(t), undefined, { AMOEBA_TOKEN: undefined });
    assert.equal(none.stdout, "");
    assert.match(none.stderr, /UNAUTHENTICATED/);
    const unknown = await runCli(["call", address, "calculator.add", '{"a":1,"b":2}'], t.after.bind(t), undefined, { AMOEBA_TOKEN: "an unknown token of some length" });
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.equal(unknown.stdout, "");
    assert.match(unknown.stderr, /UNAUTHENTICATED: .*not one this node takes/);
  });

  it("a registry with --tokens: a node registers with its token, and is found", async (t) => {
    const cleanupHere = t.after.bind(t);
    const tokens = file("registry-tokens.json", JSON.stringify({ tokens: [ops.entry] }));
    const registry = new CliProcess(["registry", "--listen", "tcp://127.0.0.1:0", "--tokens", tokens, "--policy", file("registry-policy.json", JSON.stringify({ rules: [{ callers: ["token:ops"], methods: ["amoeba.registry.*"] }] }))], cleanupHere);
    const registryAddress = (await registry.waitFor(/listening on (tcp:\/\/127\.0\.0\.1:\d+)\n/))[1]!;
    const member = new CliProcess(["serve", "examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--name", "calc-reg", "--registry", registryAddress], cleanupHere, { AMOEBA_TOKEN: ops.token });
    await member.waitFor(/registered with the registry at /);
    const ls = await runCli(["ls", "--registry", registryAddress, "--json"], cleanupHere, undefined, { AMOEBA_TOKEN: ops.token });
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /calc-reg/);
    // Without the token the registry answers no one.
    const anonymous = await runCli(["ls", "--registry", registryAddress, "--json"], cleanupHere, undefined, { AMOEBA_TOKEN: undefined });
    assert.notEqual(anonymous.code, 0, anonymous.stdout);
    assert.doesNotMatch(anonymous.stdout, /calc-reg/);
  });

  it("malformed token files and variables are usage errors naming what is wrong, exit 2", async (t) => {
    const cases: Array<[string, string[], Record<string, string | undefined>, RegExp]> = [
      ["no file", ["serve", "examples/calculator/service.ts", "--tokens", join(dir, "nosuch.json")], {}, /cannot read --tokens .*nosuch\.json: no such file/],
      ["not JSON", ["serve", "examples/calculator/service.ts", "--tokens", file("bad.json", "{")], {}, /--tokens .*bad\.json is not valid JSON/],
      ["no list", ["registry", "--tokens", file("nolist.json", '{"token": []}')], {}, /must be an object with a list "tokens"/],
      ["a bad digest", ["serve", "examples/calculator/service.ts", "--tokens", file("digest.json", '{"tokens": [{"name": "a", "sha256": "12"}]}')], {}, /tokens\[0\]\.sha256 \(a\): 64 hex digits/],
      ["an unknown field", ["gateway", "--join", "a=udp://127.0.0.1:1", "--join", "b=udp://127.0.0.1:2", "--tokens", file("field.json", '{"tokens": [{"name": "a", "sha": "x"}]}')], {}, /tokens\[0\]: unknown field "sha"/],
      ["a short token", ["call", "tcp://127.0.0.1:1", "calculator.add", "{}"], { AMOEBA_TOKEN: "short" }, /the token in \$AMOEBA_TOKEN is 5 characters; a token has 16 to 4096/],
      ["both variables", ["call", "tcp://127.0.0.1:1", "calculator.add", "{}"], { AMOEBA_TOKEN: ops.token, AMOEBA_TOKEN_FILE: join(dir, "ops.token") }, /both set/],
      ["token without --name", ["token"], {}, /--name names who the token is for/],
    ];
    for (const [what, args, env, message] of cases) {
      const result = await runCli(args, t.after.bind(t), undefined, env);
      assert.equal(result.code, 2, `${what}: ${result.stderr}`);
      assert.match(result.stderr, message, what);
    }
  });
});
