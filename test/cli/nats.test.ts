// The CLI on NATS: amoeba serve --engine, then ls and call through the same
// NATS server, by look-up and by a node's nats:// address.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { requireOrSkip } from "../support/require.ts";
import { natsMissing, startNatsServer, type NatsServer } from "../support/nats-server.ts";
import { CliProcess, runCli } from "./support.ts";

const CALCULATOR = "examples/calculator/service.ts";

describe("amoeba serve, ls and call with --engine nats://", () => {
  let server: NatsServer | undefined;
  let address = "";
  const cleanups: Array<() => void | Promise<void>> = [];

  before(async () => {
    if (natsMissing) return;
    server = await startNatsServer();
    const serve = new CliProcess(["serve", CALCULATOR, "--engine", server.url, "--cluster", "cli-nats", "--name", "calc-n"], (fn) => cleanups.push(fn));
    address = (await serve.waitFor(/serving calculator@1\.2\.0 on (nats:\/\/[0-9a-f-]+)\n/))[1]!;
    await serve.waitFor(/in cluster "cli-nats" on NATS at nats:\/\/127\.0\.0\.1:\d+\n/);
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await server?.stop();
  });

  it("ls --engine lists calculator on its nats:// address, with its methods", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const all = await runCli(["ls", "--engine", server!.url, "--cluster", "cli-nats"], t.after.bind(t));
    assert.equal(all.code, 0, all.stderr);
    assert.ok(all.stdout.includes(`calculator  1.2.0    calc-n  alive`), all.stdout);
    assert.ok(all.stdout.includes(address), all.stdout);
    const one = await runCli(["ls", "calculator", "--engine", server!.url, "--cluster", "cli-nats"], t.after.bind(t));
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /\n {2}add +unary\n/);
    assert.match(one.stdout, /\n {2}count +server-stream\n/);
  });

  it("call --engine finds the node by look-up; a nats:// address is called directly", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const found = await runCli(["call", "--engine", server!.url, "--cluster", "cli-nats", "calculator.add", '{"a":20,"b":22}'], t.after.bind(t));
    assert.equal(found.code, 0, found.stderr);
    assert.equal(found.stdout, "42\n");
    const direct = await runCli(["call", "--engine", server!.url, address, "calculator.count", '{"to":3}'], t.after.bind(t));
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(direct.stdout, "1\n2\n3\n");
  });

  it("edge --engine serves the calculator found on NATS over HTTP", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const edge = new CliProcess(["edge", "--engine", server!.url, "--cluster", "cli-nats", "--port", "0", "--name", "edge-n"], t.after.bind(t));
    const url = (await edge.waitFor(/^amoeba: edge edge-n serving HTTP and WebSocket on (http:\/\/127\.0\.0\.1:\d+) for /m))[1]!;
    const until = Date.now() + 20_000;
    for (;;) {
      const response = await fetch(`${url}/rpc/calculator/add`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":20,"b":22}' });
      if (response.status === 200) {
        assert.equal(await response.json(), 42);
        break;
      }
      // The edge learns the catalog on NATS in a moment: 404 until then.
      assert.equal(response.status, 404, await response.text());
      if (Date.now() > until) assert.fail("the edge never found calculator on NATS");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  it("serve --engine with a wrong credential fails at start with a clear error", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const guarded = await startNatsServer({ config: 'authorization { token: "right" }\n' });
    t.after(() => guarded.stop());
    const result = await runCli(["serve", CALCULATOR, "--engine", guarded.url], t.after.bind(t), 30_000, { AMOEBA_NATS_TOKEN: "wrong" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /amoeba serve: cannot start the node: the NATS server at nats:\/\/127\.0\.0\.1:\d+ refused the credentials/);
  });

  it("--engine takes nats://host:port and does not go with --seeds", async (t) => {
    const bad = await runCli(["ls", "--engine", "127.0.0.1:4222"], t.after.bind(t));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--engine takes a NATS server as nats:\/\/host:port/);
    const both = await runCli(["ls", "--engine", "nats://127.0.0.1:4222", "--seeds", "udp://127.0.0.1:7946"], t.after.bind(t));
    assert.equal(both.code, 2);
    assert.match(both.stderr, /does not go with --seeds/);
  });
});
