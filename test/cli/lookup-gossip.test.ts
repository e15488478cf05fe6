import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CONCURRENCY, isolateRendezvous, runCli, startMember, uniqueCluster } from "./support.ts";

const CALCULATOR = "examples/calculator/service.ts";

isolateRendezvous();

describe("amoeba ls, nodes and call over gossip", { concurrency: CONCURRENCY }, () => {
  const cluster = uniqueCluster("gossip");
  let seed = "";
  const cleanups: Array<() => void | Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  before(async () => {
    // One after the other: the second finds the first through the local rendezvous, with no seeds.
    const first = await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-a"], (fn) => cleanups.push(fn));
    await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-b"], (fn) => cleanups.push(fn));
    assert.match(first.gossip ?? "", /^udp:\/\/127\.0\.0\.1:\d+$/);
    assert.match(first.server.stdout, new RegExp(`amoeba: node calc-a in cluster "${cluster}", gossip on udp://127\\.0\\.0\\.1:\\d+ \\(a seed for other nodes\\)\\n`));
    seed = first.gossip!;
  });

  it("ls --cluster lists calculator with its two instances", async (t) => {
    const result = await runCli(["ls", "--cluster", cluster], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^SERVICE +VERSION +NODE +STATE +LOAD +ADDRESSES\n/);
    assert.match(result.stdout, /\ncalculator +1\.2\.0 +calc-a +alive +\d+ +tcp:\/\/127\.0\.0\.1:\d+\n/);
    assert.match(result.stdout, /\ncalculator +1\.2\.0 +calc-b +alive +\d+ +tcp:\/\/127\.0\.0\.1:\d+\n/);
    assert.match(result.stdout, /\n1 service, 2 instances on 2 nodes in cluster /);
    assert.doesNotMatch(result.stdout, /amoeba\.reflect|amoeba-ls/, "Amoeba's own services and the command's own member stay out");
    assert.equal(result.stderr, "");
  });

  it("ls <service> also shows its methods and kinds, from reflection", async (t) => {
    const result = await runCli(["ls", "calculator", "--cluster", cluster], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^calculator@1\.2\.0: 2 instances\n/);
    assert.match(result.stdout, /\n {2}METHOD +KIND\n {2}add +unary\n {2}count +server-stream\n {2}sleep +unary\n/);
    assert.match(result.stdout, /\n {2}calc-a +alive /);
    assert.match(result.stdout, /\n {2}calc-b +alive /);
  });

  it("ls --json prints JSON that parses", async (t) => {
    const result = await runCli(["ls", "calculator", "--cluster", cluster, "--json"], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as {
      cluster: string;
      services: Array<{ name: string; version: string; methods: Array<{ name: string; kind: string }>; instances: Array<{ node: string; state: string; addresses: string[] }> }>;
    };
    assert.equal(parsed.cluster, cluster);
    assert.deepEqual(parsed.services.map((s) => `${s.name}@${s.version}`), ["calculator@1.2.0"]);
    assert.deepEqual(parsed.services[0]!.instances.map((i) => [i.node, i.state]), [["calc-a", "alive"], ["calc-b", "alive"]]);
    assert.deepEqual(parsed.services[0]!.methods.find((m) => m.name === "count"), { name: "count", kind: "server-stream" });
  });

  it("nodes --seeds <gossip address> lists both members alive", async (t) => {
    const result = await runCli(["nodes", "--seeds", seed, "--cluster", cluster], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^NODE +STATE +SERVICES +LOAD +GOSSIP +ADDRESSES\n/);
    assert.match(result.stdout, /\ncalc-a +alive +1 +\d+ +udp:\/\/127\.0\.0\.1:\d+ +tcp:\/\/127\.0\.0\.1:\d+\n/);
    assert.match(result.stdout, /\ncalc-b +alive +1 +\d+ +udp:/);
    assert.match(result.stdout, /\n2 members \(2 alive\) in cluster /);
  });

  it("nodes --json prints JSON that parses", async (t) => {
    const result = await runCli(["nodes", "--cluster", cluster, "--json"], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { members: Array<{ name: string; state: string; services: string[]; gossip: string }> };
    const named = parsed.members.map((m) => [m.name, m.state, m.services.join()]);
    assert.deepEqual(named, [["calc-a", "alive", "calculator@1.2.0"], ["calc-b", "alive", "calculator@1.2.0"]]);
  });

  it("nodes --seeds without the seeds' cluster says to name it (exit 3)", async (t) => {
    const result = await runCli(["nodes", "--seeds", seed, "--wait", "500"], t.after.bind(t));
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^amoeba nodes: no node of cluster "default" answered at udp:.*add --cluster <name>/);
  });

  it("call --cluster finds an instance through the look-up and prints 3", async (t) => {
    const result = await runCli(["call", "--cluster", cluster, "calculator.add", '{"a":1,"b":2}'], t.after.bind(t));
    assert.deepEqual([result.code, result.stdout, result.stderr], [0, "3\n", ""]);
  });

  it("call --seeds streams from an instance within --version", async (t) => {
    const result = await runCli(["call", "--seeds", seed, "--cluster", cluster, "calculator.count", '{"to":3}', "--version", "^1.2"], t.after.bind(t));
    assert.deepEqual([result.code, result.stdout], [0, "1\n2\n3\n"], result.stderr);
  });

  it("call --version ^9 fails, naming the versions that run", async (t) => {
    const result = await runCli(["call", "--cluster", cluster, "calculator.add", '{"a":1,"b":2}', "--version", "^9"], t.after.bind(t));
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^ERROR NOT_FOUND: no instance of calculator@\^9 in cluster .* it runs as calculator@1\.2\.0 on nodes calc-a, calc-b\n/);
    assert.equal(result.stdout, "");
  });
});

describe("amoeba ls and call with nothing to find", { concurrency: CONCURRENCY }, () => {
  it("ls --cluster with no node of it on this machine exits 3 and says how to reach one", async (t) => {
    const result = await runCli(["ls", "--cluster", uniqueCluster("empty"), "--wait", "300"], t.after.bind(t));
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^amoeba ls: no node of cluster "cli-empty-\d+-\d+" runs on this machine; give --seeds/);
  });

  it("call --cluster with no node of it prints ERROR UNAVAILABLE and exits 3", async (t) => {
    const result = await runCli(["call", "--cluster", uniqueCluster("empty"), "calculator.add", "--wait", "300"], t.after.bind(t));
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^ERROR UNAVAILABLE: no node of cluster /);
  });
});
