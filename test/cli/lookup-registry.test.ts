import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CliProcess, CONCURRENCY, eventually, isolateRendezvous, runCli, startMember } from "./support.ts";

const CALCULATOR = "examples/calculator/service.ts";

isolateRendezvous();

describe("amoeba registry, and ls, nodes and call through it", { concurrency: CONCURRENCY }, () => {
  let registry = "";
  let registryProcess: CliProcess;
  const cleanups: Array<() => void | Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  before(async () => {
    registryProcess = new CliProcess(["registry", "--listen", "tcp://127.0.0.1:0", "--name", "reg"], (fn) => cleanups.push(fn));
    registry = (await registryProcess.waitFor(/^amoeba: registry reg listening on (tcp:\/\/127\.0\.0\.1:\d+)\n/))[1]!;
    const member = await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--registry", registry, "--name", "calc-r"], (fn) => cleanups.push(fn));
    assert.equal(member.gossip, undefined);
    assert.match(member.server.stdout, new RegExp(`registered with the registry at ${registry}\\n`));
  });

  it("ls --registry lists calculator", async (t) => {
    const result = await runCli(["ls", "--registry", registry], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\ncalculator +1\.2\.0 +calc-r +alive +\d+ +tcp:\/\/127\.0\.0\.1:\d+\n/);
    assert.match(result.stdout, /\n1 service, 1 instance on 1 node in the registry at /);
  });

  it("ls --registry --json prints JSON that parses", async (t) => {
    const result = await runCli(["ls", "--registry", registry, "--json"], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { registry: string; services: Array<{ name: string; instances: Array<{ node: string }> }> };
    assert.equal(parsed.registry, registry);
    assert.deepEqual(parsed.services.map((s) => [s.name, s.instances.map((i) => i.node)]), [["calculator", ["calc-r"]]]);
  });

  it("call --registry calls the instance it finds", async (t) => {
    const result = await runCli(["call", "--registry", registry, "calculator.add", '{"a":20,"b":22}'], t.after.bind(t));
    assert.deepEqual([result.code, result.stdout, result.stderr], [0, "42\n", ""]);
  });

  it("nodes --registry lists the member; the command's own short-lived members only with --all", async (t) => {
    const result = await runCli(["nodes", "--registry", registry], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^NODE +STATE +SERVICES +LOAD +ADDRESSES\n/);
    assert.match(result.stdout, /\ncalc-r +alive +1 +\d+ +tcp:\/\/127\.0\.0\.1:\d+\n/);
    assert.doesNotMatch(result.stdout, /amoeba-(ls|nodes|call)-/);
  });

  it("a registry nobody listens at: exit 3, saying so", async (t) => {
    const result = await runCli(["ls", "--registry", "tcp://127.0.0.1:1"], t.after.bind(t));
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^amoeba ls: cannot reach the registry at tcp:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  });
});

describe("amoeba registry: graceful ends", () => {
  it("a served node stopped by SIGTERM shows as left, and the registry drains on SIGTERM", async (t) => {
    const cleanup = t.after.bind(t);
    const registryProcess = new CliProcess(["registry", "--listen", "tcp://127.0.0.1:0", "--name", "reg-2"], cleanup);
    const registry = (await registryProcess.waitFor(/listening on (tcp:\/\/\S+)\n/))[1]!;
    const { server } = await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--registry", registry, "--name", "calc-gone"], cleanup);
    server.kill("SIGTERM");
    assert.equal((await server.exited()).code, 0);
    const listed = await eventually(
      "calc-gone listed as left",
      async () => {
        const result = await runCli(["nodes", "--registry", registry, "--json"], cleanup);
        const members = (JSON.parse(result.stdout) as { members: Array<{ name: string; state: string }> }).members;
        return members.find((m) => m.name === "calc-gone" && m.state === "left");
      },
      20_000,
    );
    assert.equal(listed.state, "left");
    registryProcess.kill("SIGTERM");
    const ended = await registryProcess.exited(15_000);
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(ended.stdout, /amoeba: node reg-2 stopped\n$/);
  });
});
