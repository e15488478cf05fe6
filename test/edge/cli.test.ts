// `amoeba edge`: starts an edge in front of nodes given by hand or by look-up,
// prints where it serves, loads an auth hook from a module, drains on SIGTERM;
// a command line without services to call is a usage error; with --cluster-tls-* it reaches nodes over
// mutual TLS, and --policy decides which end users may call what.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startNode, type Node } from "../../src/index.ts";
import { hasCommand, makeCerts, recordingLogger } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { CliProcess, runCli } from "../cli/support.ts";
import { http, newSeen, rpc, Shop, shopHandlers } from "./fixture.ts";

const KEY = `edge cli key ${process.pid}`;
const certs = hasCommand("openssl") ? makeCerts() : undefined;

describe("amoeba edge", () => {
  let backend: Node;
  const cleanups: Array<() => void | Promise<void>> = [];
  before(async () => {
    // The edge passes its end user to a node that can trust the connection: both hold the cluster key.
    backend = await startNode({ name: "cli-backend", listen: "tcp://127.0.0.1:0", clusterKey: KEY, logger: recordingLogger() });
    backend.serve(Shop, shopHandlers(newSeen()));
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await backend.close({ timeout: 1_000 });
  });

  it("serves a node's public methods, with an auth hook from a module, and drains on SIGTERM", async () => {
    const edge = new CliProcess(
      ["edge", "--connect", backend.addresses[0]!, "--port", "0", "--name", "edge-cli", "--rate-limit", "off", "--auth", "test/edge/fixtures/auth.ts"],
      (fn) => cleanups.push(fn),
      { AMOEBA_CLUSTER_KEY: KEY },
    );
    const url = (await edge.waitFor(/^amoeba: edge edge-cli serving HTTP and WebSocket on (http:\/\/127\.0\.0\.1:\d+) for /m))[1]!;
    await edge.waitFor(/public services now: shop@1\.2\.0/);
    assert.equal((await rpc(url, "shop.add", { a: 1, b: 2 })).status, 401);
    const answer = await rpc(url, "shop.whoami", {}, { authorization: "Bearer let-me-in" });
    assert.equal(answer.status, 200);
    assert.equal(answer.json.caller, "cli-user");
    assert.equal((await http(url, "/healthz")).status, 200);
    edge.kill("SIGTERM");
    const finished = await edge.exited();
    assert.equal(finished.code, 0, finished.stderr);
    assert.match(finished.stdout, /draining on SIGTERM/);
    assert.match(finished.stdout, /edge edge-cli stopped/);
  });

  it("finds the calculator served by `amoeba serve` in a cluster and answers POST /rpc/calculator/add", async (t) => {
    const cluster = `edge-cli-${process.pid}`;
    const cleanup = t.after.bind(t);
    const serve = new CliProcess(["serve", "examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-e"], cleanup);
    await serve.waitFor(/in cluster .*gossip on/);
    const edge = new CliProcess(["edge", "--cluster", cluster, "--port", "0", "--name", "edge-lookup", "--timeout", "0.4s"], cleanup);
    const url = (await edge.waitFor(/^amoeba: edge edge-lookup serving HTTP and WebSocket on (http:\/\/127\.0\.0\.1:\d+) for /m))[1]!;
    await edge.waitFor(/public services now: .*calculator@1\.2\.0/);
    const answer = await rpc(url, "calculator.add", { a: 1, b: 2 });
    assert.equal(answer.status, 200);
    assert.equal(answer.json, 3);
    assert.equal((await rpc(url, "calculator.add", { a: "x" })).status, 400, "the schema still applies");
    // --timeout 0.4s is the deadline of a request that sets none; X-Timeout still sets its own.
    const started = Date.now();
    const slow = await rpc(url, "calculator.sleep", { ms: 3_000 });
    const took = Date.now() - started;
    assert.equal(slow.status, 504, slow.text);
    assert.equal(slow.json.error.code, "DEADLINE_EXCEEDED");
    assert.ok(took >= 350 && took < 2_500, `the call ended after ${took} ms, at the edge's 400 ms deadline`);
    const own = await rpc(url, "calculator.sleep", { ms: 700 }, { "x-timeout": "5000" });
    assert.equal(own.status, 200, own.text);
  });

  it("refuses a --timeout that is not a time, or is none: exit 2", async (t) => {
    const cases: Array<[string, RegExp]> = [
      ["soon", /--timeout takes a time such as 500ms, 10s or 2m \(a bare number is ms\), not "soon"/],
      ["0", /--timeout takes a time from 1ms to 5m, not 0/],
      ["6m", /--timeout takes a time from 1ms to 5m, not 6m/],
      ["5 s", /--timeout takes a time such as/],
    ];
    for (const [value, message] of cases) {
      const result = await runCli(["edge", "--connect", "tcp://127.0.0.1:1", "--timeout", value], t.after.bind(t));
      assert.equal(result.code, 2, `${value}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  it("needs services to call: exit 2", async (t) => {
    const result = await runCli(["edge", "--port", "0"], t.after.bind(t));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /needs services to call/);
  });

  it("refuses a bad port, rate or origin, or a certificate without its key: exit 2", async (t) => {
    for (const args of [["--port", "99999"], ["--rate-limit", "fast"], ["--cors", "app.example.com"], ["--tls-cert", "edge.crt"], ["--tls-key", "edge.key"]]) {
      const result = await runCli(["edge", "--connect", "tcp://127.0.0.1:1", ...args], t.after.bind(t));
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    }
  });

  it("refuses a --recent-calls that is not a ring size: exit 2", async (t) => {
    const cases: Array<[string, RegExp]> = [
      ["0", /--recent-calls takes a whole number of at least 1, not "0"/],
      ["many", /--recent-calls takes a whole number of at least 1, not "many"/],
      ["100001", /--recent-calls keeps at most 100000 calls, not 100001/],
    ];
    for (const [value, message] of cases) {
      const result = await runCli(["edge", "--connect", "tcp://127.0.0.1:1", "--recent-calls", value], t.after.bind(t));
      assert.equal(result.code, 2, `${value}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  it("says which certificate file it cannot read: exit 2", async (t) => {
    const result = await runCli(["edge", "--connect", "tcp://127.0.0.1:1", "--tls-cert", "no-such.crt", "--tls-key", "no-such.key"], t.after.bind(t));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /cannot read --tls-cert no-such\.crt: no such file/);
  });

  it("with --cluster-tls-* reaches a node over mutual TLS, and --policy lets through only the end users' calls it names", async (t) => {
    if (!requireOrSkip(t, certs !== undefined, "the openssl CLI is needed to make test certificates")) return;
    const dir = await mkdtemp(join(tmpdir(), "amoeba-edge-cli-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const write = async (name: string, text: string): Promise<string> => {
      await writeFile(join(dir, name), text);
      return join(dir, name);
    };
    const guarded = await startNode({
      name: "cli-guarded",
      listen: "tcp://127.0.0.1:0",
      tls: { ...certs!.node, ca: certs!.ca },
      authorization: { rules: [{ callers: ["cert:amoeba-client"], methods: ["*"] }] },
      logger: recordingLogger(),
    });
    t.after(() => guarded.close({ timeout: 500 }));
    guarded.serve(Shop, shopHandlers(newSeen()));
    const policy = await write("edge-policy.json", JSON.stringify({ rules: [{ callers: ["edge:cli-user"], methods: ["shop.add"] }] }));
    const clusterTls = ["--cluster-tls-ca", await write("ca.crt", certs!.ca), "--cluster-tls-cert", await write("client.crt", certs!.client.cert), "--cluster-tls-key", await write("client.key", certs!.client.key)];
    const edge = new CliProcess(
      ["edge", "--connect", guarded.addresses[0]!, "--port", "0", "--name", "edge-policy", "--rate-limit", "off", "--auth", "test/edge/fixtures/auth.ts", "--policy", policy, ...clusterTls],
      t.after.bind(t),
    );
    const url = (await edge.waitFor(/^amoeba: edge edge-policy serving HTTP and WebSocket on (http:\/\/127\.0\.0\.1:\d+) for /m))[1]!;
    await edge.waitFor(/public services now: shop@1\.2\.0/);
    const added = await rpc(url, "shop.add", { a: 1, b: 2 }, { authorization: "Bearer let-me-in" });
    assert.deepEqual([added.status, added.json], [200, 3], added.text);
    const refused = await rpc(url, "shop.whoami", {}, { authorization: "Bearer let-me-in" });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.error.code, "PERMISSION_DENIED");
    assert.equal((await rpc(url, "shop.add", { a: 1, b: 2 })).status, 401, "no token: authentication answers first");
  });

  it("has help", async (t) => {
    const result = await runCli(["edge", "--help"], t.after.bind(t));
    assert.equal(result.code, 0);
    assert.match(result.stdout, /POST \/rpc\/<service>\/<method>/);
    assert.match(result.stdout, /--cors <origin>/);
  });
});
