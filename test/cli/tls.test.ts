// A protected node from the command line, with throwaway certificates made by openssl: `amoeba serve`
// with mutual TLS and a policy file takes calls from the certificate the policy names, refuses a caller
// without a certificate at the handshake and one it does not name with PERMISSION_DENIED; a registry over
// mutual TLS is registered with and asked with certificates; and bad PEM files are usage errors (exit 2).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { hasCommand, makeCerts } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { CliProcess, CONCURRENCY, isolateRendezvous, runCli, uniqueCluster, type Cleanup } from "./support.ts";

isolateRendezvous();

const MISSING = "the openssl CLI is needed to make test certificates";
const certs = hasCommand("openssl") ? makeCerts() : undefined;
const dir = mkdtempSync(join(tmpdir(), "amoeba-cli-tls-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` to a file of the test's folder; returns its path. */
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The PEM files of `certs`, on disk as the CLI reads them. */
const pem = certs && {
  ca: file("ca.crt", certs.ca),
  server: { cert: file("server.crt", certs.server.cert), key: file("server.key", certs.server.key) },
  node: { cert: file("node.crt", certs.node.cert), key: file("node.key", certs.node.key) },
  client: { cert: file("client.crt", certs.client.cert), key: file("client.key", certs.client.key) },
  stranger: { cert: file("stranger.crt", certs.stranger.cert), key: file("stranger.key", certs.stranger.key) },
  rogue: { cert: file("rogue.crt", certs.rogueClient.cert), key: file("rogue.key", certs.rogueClient.key) },
};

/** `--<prefix>-ca … --<prefix>-cert … --<prefix>-key …` for one certificate. */
function tlsArgs(pair: { cert: string; key: string }, ca = pem!.ca): string[] {
  return ["--tls-ca", ca, "--tls-cert", pair.cert, "--tls-key", pair.key];
}

/** amoeba-client may call the calculator; any certificate of the CA may ask what is served. */
const policy = file(
  "policy.json",
  JSON.stringify({
    rules: [
      { callers: ["cert:amoeba-client"], methods: ["calculator.*"] },
      { callers: ["cert:*"], methods: ["amoeba.reflect.*"] },
    ],
  }),
);

describe("amoeba serve with mutual TLS and a policy file", { concurrency: CONCURRENCY, timeout: 120_000 }, () => {
  let address = "";
  const cleanups: Array<() => void | Promise<void>> = [];
  const cleanup: Cleanup = (fn) => cleanups.push(fn);
  before(async () => {
    if (pem === undefined) return;
    const server = new CliProcess(
      ["serve", "examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--name", "calc-tls", ...tlsArgs(pem.server), "--policy", policy],
      cleanup,
    );
    address = (await server.waitFor(/serving calculator@1\.2\.0 on (tcp:\/\/127\.0\.0\.1:\d+)\n/))[1]!;
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  it("a certificate the policy names calls: the result, exit 0", async (t) => {
    if (!requireOrSkip(t, pem !== undefined, MISSING)) return;
    const result = await runCli(["call", address, "calculator.add", '{"a":20,"b":22}', ...tlsArgs(pem!.client)], t.after.bind(t));
    assert.deepEqual([result.code, result.stdout], [0, "42\n"], result.stderr);
  });

  it("without a client certificate the TLS handshake fails: UNAVAILABLE, certificate required, exit 3", async (t) => {
    if (!requireOrSkip(t, pem !== undefined, MISSING)) return;
    const result = await runCli(["call", address, "calculator.add", '{"a":1,"b":2}', "--tls-ca", pem!.ca], t.after.bind(t));
    assert.equal(result.code, 3, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^ERROR UNAVAILABLE: connection to tcp:\/\/127\.0\.0\.1:\d+ closed during the handshake: .*alert certificate required/);
    assert.match(result.stderr, /hint: the node asks for a client certificate \(mutual TLS\): give --tls-cert and --tls-key/);
  });

  it("a certificate of the same CA that the policy does not name: PERMISSION_DENIED, exit 1", async (t) => {
    if (!requireOrSkip(t, pem !== undefined, MISSING)) return;
    const result = await runCli(["call", address, "calculator.add", '{"a":1,"b":2}', ...tlsArgs(pem!.stranger)], t.after.bind(t));
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^ERROR PERMISSION_DENIED: calculator\.add on node calc-tls: cert:amoeba-stranger may not call it; no rule allows it/);
  });

  it("a certificate of another CA, or no TLS at all, is refused at the handshake: exit 3", async (t) => {
    if (!requireOrSkip(t, pem !== undefined, MISSING)) return;
    const [rogue, plain] = await Promise.all([
      runCli(["call", address, "calculator.add", '{"a":1,"b":2}', ...tlsArgs(pem!.rogue)], t.after.bind(t)),
      runCli(["call", address, "calculator.add", '{"a":1,"b":2}'], t.after.bind(t)),
    ]);
    assert.equal(rogue.code, 3, rogue.stderr);
    assert.match(rogue.stderr, /^ERROR UNAVAILABLE: connection to tcp:\/\/127\.0\.0\.1:\d+ closed during the handshake/);
    assert.equal(plain.code, 3, plain.stderr);
    assert.match(plain.stderr, /^ERROR UNAVAILABLE: connection to tcp:\/\/127\.0\.0\.1:\d+ closed during the handshake/);
    assert.match(plain.stderr, /hint: if the node serves TLS, give --tls-ca/);
  });

  it("describe with a certificate of the CA reads the methods the policy opens to it", async (t) => {
    if (!requireOrSkip(t, pem !== undefined, MISSING)) return;
    const result = await runCli(["describe", address, "calculator.add", "--json", ...tlsArgs(pem!.stranger)], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).methods[0].name, "add");
  });
});

describe("a registry over mutual TLS", { timeout: 120_000 }, () => {
  it("a node registers with its certificate; ls and call find and call it with theirs, and without one the registry cannot be asked", async (t) => {
    if (!requireOrSkip(t, pem !== undefined, MISSING)) return;
    const cleanup = t.after.bind(t);
    const registryPolicy = file("registry-policy.json", JSON.stringify({ rules: [{ callers: ["cert:*"], methods: ["amoeba.registry.*"] }] }));
    const registry = new CliProcess(["registry", "--listen", "tcp://127.0.0.1:0", ...tlsArgs(pem!.node), "--policy", registryPolicy], cleanup);
    const at = (await registry.waitFor(/listening on (tcp:\/\/127\.0\.0\.1:\d+)\n/))[1]!;
    const nodePolicy = file(
      "node-policy.json",
      JSON.stringify({ rules: [{ callers: ["cert:amoeba-client"], methods: ["calculator.*"] }, { callers: ["cert:*"], methods: ["amoeba.*"] }] }),
    );
    // The node dials the registry with its certificate, which is its server certificate too.
    const serve = new CliProcess(
      ["serve", "examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--name", "calc-reg", "--registry", at, ...tlsArgs(pem!.node), "--policy", nodePolicy],
      cleanup,
    );
    await serve.waitFor(/registered with the registry at /);
    const [ls, call, plain] = await Promise.all([
      runCli(["ls", "--registry", at, "--json", ...tlsArgs(pem!.client)], cleanup),
      runCli(["call", "--registry", at, "calculator.add", '{"a":2,"b":5}', ...tlsArgs(pem!.client)], cleanup),
      runCli(["ls", "--registry", at], cleanup),
    ]);
    assert.equal(ls.code, 0, ls.stderr);
    const listed = JSON.parse(ls.stdout) as { services: Array<{ name: string; instances: Array<{ node: string }> }> };
    assert.deepEqual(
      listed.services.filter((s) => s.name === "calculator").flatMap((s) => s.instances.map((i) => i.node)),
      ["calc-reg"],
      ls.stdout,
    );
    assert.deepEqual([call.code, call.stdout], [0, "7\n"], call.stderr);
    assert.equal(plain.code, 3, plain.stderr);
    assert.match(plain.stderr, /cannot reach the registry at tcp:\/\/127\.0\.0\.1:\d+: .*closed during the handshake/);
  });
});

describe("a gateway over mutual TLS", { timeout: 120_000 }, () => {
  it("forwards a call from one cluster to a node of another, each hop with its certificate and under its policy", async (t) => {
    if (!requireOrSkip(t, pem !== undefined, MISSING)) return;
    const cleanup = t.after.bind(t);
    const [home, away] = [uniqueCluster("tls-home"), uniqueCluster("tls-away")];
    // The node lets the gateway (its certificate) call the calculator; the gateway lets amoeba-client call it through.
    const nodePolicy = file(
      "home-policy.json",
      JSON.stringify({ rules: [{ callers: ["cert:amoeba-node"], methods: ["calculator.*"] }, { callers: ["cert:*"], methods: ["amoeba.*"] }] }),
    );
    const gatewayPolicy = file(
      "gateway-policy.json",
      JSON.stringify({ rules: [{ callers: ["cert:amoeba-client"], methods: ["calculator.*"] }, { callers: ["cert:*"], methods: ["amoeba.*"] }] }),
    );
    const serve = new CliProcess(
      ["serve", "examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--name", "calc-home", "--cluster", home, ...tlsArgs(pem!.node), "--policy", nodePolicy],
      cleanup,
    );
    await serve.waitFor(/in cluster .*gossip on/);
    const gateway = new CliProcess(["gateway", "--join", home, "--join", away, "--name", "gw-tls", ...tlsArgs(pem!.node), "--policy", gatewayPolicy], cleanup);
    await gateway.waitFor(new RegExp(`routes into ${away}: calculator@1\\.2\\.0 \\(cost 1 via ${home}\\)`));
    const [allowed, stranger] = await Promise.all([
      runCli(["call", "--cluster", away, "calculator.add", '{"a":40,"b":2}', ...tlsArgs(pem!.client)], cleanup),
      runCli(["call", "--cluster", away, "calculator.add", '{"a":1,"b":2}', ...tlsArgs(pem!.stranger)], cleanup),
    ]);
    assert.deepEqual([allowed.code, allowed.stdout], [0, "42\n"], allowed.stderr);
    assert.equal(stranger.code, 1, stranger.stderr);
    assert.match(stranger.stderr, /^ERROR PERMISSION_DENIED: calculator\.add on node gw-tls: cert:amoeba-stranger may not call it; no rule allows it/);
  });
});

describe("bad PEM files are usage errors: exit 2, naming the option and the file", { concurrency: CONCURRENCY, timeout: 120_000 }, () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    [
      "serve: a key file that does not exist",
      () => ["serve", "examples/calculator/service.ts", "--tls-cert", pem!.server.cert, "--tls-key", join(dir, "missing.key")],
      /^amoeba serve: cannot read --tls-key \S+missing\.key: no such file\n/,
    ],
    ["serve: a certificate without its key", () => ["serve", "examples/calculator/service.ts", "--tls-cert", pem!.server.cert], /--tls-cert and --tls-key go together: give both/],
    ["serve: --tls-ca alone", () => ["serve", "examples/calculator/service.ts", "--tls-ca", pem!.ca], /--tls-ca \(mutual TLS\) needs a certificate of this node's own too/],
    [
      "registry: a key that is not the certificate's",
      () => ["registry", "--tls-cert", pem!.server.cert, "--tls-key", pem!.client.key],
      /^amoeba registry: --tls-key \S+client\.key is not the key of --tls-cert \S+server\.crt \(CN=localhost\)\n/,
    ],
    [
      "gateway: a key file that holds a certificate",
      () => ["gateway", "--join", "a", "--join", "b", "--tls-cert", pem!.node.cert, "--tls-key", pem!.node.cert],
      /^amoeba gateway: --tls-key \S+node\.crt holds no PEM private key/,
    ],
    [
      "call: a CA file that holds a key",
      () => ["call", "tcp://127.0.0.1:1", "calculator.add", "--tls-ca", pem!.client.key],
      /^amoeba call: --tls-ca \S+client\.key holds no PEM certificate/,
    ],
    [
      "call: a certificate that does not parse",
      () => ["call", "tcp://127.0.0.1:1", "calculator.add", "--tls-ca", file("broken.crt", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")],
      /^amoeba call: --tls-ca \S+broken\.crt: its certificate cannot be read: /,
    ],
  ];
  for (const [name, args, message] of cases) {
    it(name, async (t) => {
      if (!requireOrSkip(t, pem !== undefined, MISSING)) return;
      const result = await runCli(args(), t.after.bind(t));
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    });
  }
});
