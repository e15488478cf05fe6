/**
 * Protected mode: with no credentials, a node, a registry, an edge or a
 * gateway listens for this machine only; to listen for other hosts it needs
 * TLS, a cluster key (the edge: TLS or authenticate), or `insecure`, logged
 * loudly. Binding 0.0.0.0 here sends nothing anywhere: each listener is closed
 * at once.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { startEdge } from "../../src/edge/index.ts";
import { ExposureError, startNode, type Logger } from "../../src/index.ts";
import { isLocalAddress, isLoopbackHost } from "../../src/transport/exposure.ts";
import { CliProcess, runCli } from "../cli/support.ts";

function recorder(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (_obj: object, msg?: string) => void warnings.push(msg ?? ""), error() {} };
}

describe("protected mode", () => {
  test("what counts as this machine only", async () => {
    for (const host of ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "::ffff:127.0.0.1", "api.localhost"]) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "::ffff:10.0.0.5", "example.com", "128.0.0.1"]) assert.equal(isLoopbackHost(host), false, host);
    assert.equal(await isLocalAddress("unix:///tmp/x.sock"), true);
    assert.equal(await isLocalAddress("inproc://x"), true);
    assert.equal(await isLocalAddress("tcp://0.0.0.0:0"), false);
    assert.equal(await isLocalAddress("tcp://localhost:0"), true);
  });

  test("a node with no credentials refuses a non-loopback address, before binding it", async (t) => {
    const node = await startNode({ logger: recorder() });
    t.after(() => node.close({ timeout: 0 }));
    await assert.rejects(node.listen("tcp://0.0.0.0:0"), (error: Error) => {
      assert.ok(error instanceof ExposureError);
      assert.match(error.message, /refuses to listen on tcp:\/\/0\.0\.0\.0:0: it has no credentials/);
      assert.match(error.message, /tls or clusterKey, or set insecure: true/);
      return true;
    });
    assert.deepEqual(node.addresses, []);
    await assert.rejects(startNode({ listen: "tcp://[::]:0", logger: recorder() }), ExposureError);
  });

  test("loopback and Unix sockets need nothing", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "amoeba-exposure-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const logger = recorder();
    const node = await startNode({ listen: ["tcp://127.0.0.1:0", "tcp://localhost:0", `unix://${join(dir, "n.sock")}`], logger });
    t.after(() => node.close({ timeout: 0 }));
    assert.equal(node.addresses.length, 3);
    assert.deepEqual(logger.warnings, []);
  });

  test("insecure: true listens for other hosts, and says so in a warning", async () => {
    const logger = recorder();
    const node = await startNode({ listen: "tcp://0.0.0.0:0", insecure: true, logger });
    await node.close({ timeout: 0 });
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0]!, /^INSECURE: node \S+ listens on tcp:\/\/0\.0\.0\.0:0 with no credentials: anyone who reaches it may call every service/);
  });

  test("a cluster key counts as a credential: no warning", async () => {
    const logger = recorder();
    const node = await startNode({ listen: "tcp://0.0.0.0:0", clusterKey: "k", lookup: false, logger });
    await node.close({ timeout: 0 });
    assert.deepEqual(logger.warnings, []);
  });

  test("an edge with neither TLS nor authenticate refuses a non-loopback host; authenticate or insecure lets it", async () => {
    await assert.rejects(startEdge({ host: "0.0.0.0", port: 0, lookup: false, logger: recorder() }), (error: Error) => {
      assert.ok(error instanceof ExposureError);
      assert.match(error.message, /edge refuses to listen on tcp:\/\/0\.0\.0\.0:0.*tls or authenticate, or set insecure: true/);
      return true;
    });
    const quiet = recorder();
    const authed = await startEdge({ host: "0.0.0.0", port: 0, lookup: false, logger: quiet, authenticate: async () => null });
    await authed.close();
    assert.deepEqual(quiet.warnings, []);
    const loud = recorder();
    const open = await startEdge({ host: "0.0.0.0", port: 0, lookup: false, logger: loud, insecure: true });
    await open.close();
    assert.ok(loud.warnings.some((line) => /^INSECURE: edge listens on tcp:\/\/0\.0\.0\.0:0/.test(line)), loud.warnings.join("\n"));
  });

  test("amoeba serve and registry refuse 0.0.0.0 without credentials (exit 2), and take it with --insecure, loudly", async (t) => {
    const cleanup = t.after.bind(t);
    const refused = await runCli(["serve", "examples/calculator/service.ts", "--listen", "tcp://0.0.0.0:0"], cleanup, 30_000);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /refuses to listen on tcp:\/\/0\.0\.0\.0:0: it has no credentials.*; or --insecure/);
    const registry = await runCli(["registry", "--listen", "tcp://0.0.0.0:0"], cleanup, 30_000);
    assert.equal(registry.code, 2, registry.stderr);
    assert.match(registry.stderr, /refuses to listen on tcp:\/\/0\.0\.0\.0:0/);
    const open = new CliProcess(["serve", "examples/calculator/service.ts", "--listen", "tcp://0.0.0.0:0", "--insecure"], cleanup);
    await open.waitFor(/serving .+ on tcp:\/\/0\.0\.0\.0:\d+/, 30_000);
    assert.match(open.stderr, /INSECURE: node \S+ listens on tcp:\/\/0\.0\.0\.0:0 with no credentials/);
    open.kill("SIGTERM");
    await open.exited(15_000);
  });
});
