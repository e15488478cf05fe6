// `amoeba gateway` and `amoeba route explain`: their command lines, bad ones included, and an explanation of a real route.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CliProcess, isolateRendezvous, runCli } from "../cli/support.ts";
import { waitFor, withTeardown } from "../rpc/support.ts";
import { clusterNames, gateway, lookup, Regional, regional, startGatewayProcess } from "./fixture.ts";

isolateRendezvous();

test("amoeba gateway refuses a bad command line with exit code 2 and says what is wrong", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["--join", "core=udp://127.0.0.1:7946"], /a gateway joins two clusters or more: .*\(only core given\)/],
    [[], /a gateway joins two clusters or more/],
    [["--join", "=udp://127.0.0.1:7946", "--join", "b"], /--join takes <cluster>=<udp:\/\/host:port>.*not "=udp/],
    [["--join", "co re=udp://127.0.0.1:1", "--join", "b"], /not "co re=udp/],
    [["--join", "core=tcp://127.0.0.1:7946", "--join", "b"], /--join takes a gossip address udp:\/\/host:port, not "tcp:/],
    [["--join", "core=", "--join", "b"], /--join core= needs a seed after '='/],
    [["--join", "core=udp://127.0.0.1:1", "--join", "core=udp://127.0.0.1:2"], /names cluster core twice/],
    [["--join", "a", "--join", "b", "--cost", "lots"], /--cost takes a whole number from 0 to 1000, not "lots"/],
    [["--join", "a", "--join", "b", "--max-hops", "0"], /--max-hops takes a whole number of at least 1/],
    [["--join", "a", "--join", "b", "--name", "x,y"], /--name takes a name without commas/],
    [["--join", "a", "--join", "b", "extra"], /takes no arguments, got extra/],
    [["--join", "a", "--join", "b", "--recent-calls", "0"], /--recent-calls takes a whole number of at least 1, not "0"/],
    [["--join", "a", "--join", "b", "--recent-calls", "100001"], /--recent-calls keeps at most 100000 calls, not 100001/],
  ];
  for (const [args, message] of cases) {
    const run = await runCli(["gateway", ...args], t.after.bind(t));
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(" "));
    assert.match(run.stderr, /Run 'amoeba gateway --help' for usage/);
  }
});

test("amoeba gateway --routes reads route rules from a file, and names the file when it cannot", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "amoeba-route-rules-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bad = join(dir, "bad.rules");
  await writeFile(bad, "# rules\ncalculator pin core\ncalculator weights 1.x=ten\n");
  const wrong = await runCli(["gateway", "--join", "a", "--join", "b", "--routes", bad], t.after.bind(t));
  assert.equal(wrong.code, 2, wrong.stderr);
  assert.match(wrong.stderr, /--routes .*bad\.rules: route rule "calculator weights 1\.x=ten": weights are <version range>=<whole number>, not "1\.x=ten"/);
  const missing = await runCli(["gateway", "--join", "a", "--join", "b", "--routes", join(dir, "none.rules")], t.after.bind(t));
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /cannot read --routes .*none\.rules/);
});

test("amoeba gateway --routes applies the file's rules to the calls it forwards: a pin sends every call to the cluster named", { timeout: 120_000 }, (t) =>
  withTeardown(async (td) => {
    const names = clusterNames();
    // Regional is served in two far clusters; the caller in core reaches both through one gateway.
    const inA = await td.node({ name: "regional-a", cluster: names.lanA, listen: "tcp://127.0.0.1:0", lookup });
    inA.serve(Regional, regional("regional-a"));
    const inB = await td.node({ name: "regional-b", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
    inB.serve(Regional, regional("regional-b"));
    const caller = await td.node({ name: "caller", cluster: names.core, lookup });
    const dir = await mkdtemp(join(tmpdir(), "amoeba-route-rules-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const join3 = { [names.core]: caller.gossipAddress!, [names.lanA]: inA.gossipAddress!, [names.regionB]: inB.gossipAddress! };
    // Each pin in turn, through a gateway process of its own: a gateway that ignored --routes would
    // send both rounds alike.
    for (const [pinned, expected] of [[names.regionB, "regional-b"], [names.lanA, "regional-a"]] as const) {
      const rules = join(dir, `${expected}.rules`);
      await writeFile(rules, `# every call forwarded to route.regional goes to one cluster\nroute.regional pin ${pinned}\n`);
      const name = `gw-${expected}`;
      const gw = await startGatewayProcess(name, join3, t.after.bind(t), ["--routes", rules]);
      await waitFor(() => caller.lookup(Regional).some((i) => i.node.name === name), 60_000, `core learns the route through ${name}`);
      const client = caller.client(Regional);
      const reached = new Set<string>();
      for (let i = 0; i < 12; i++) reached.add((await client.where({}, { timeout: 10_000 })).node);
      assert.deepEqual([...reached], [expected], `with "route.regional pin ${pinned}", every call reached ${expected}`);
      gw.process.child.kill("SIGTERM");
      assert.equal((await gw.process.exited()).code, 0);
      await waitFor(() => caller.lookup(Regional).length === 0, 30_000, `core forgets the route through ${name}`);
    }
  }));

test("amoeba gateway prints where it is in each cluster, and drains and exits 0 on SIGTERM", async (t) => {
  const { lanA, core } = clusterNames();
  const process = new CliProcess(["gateway", "--join", lanA, "--join", core, "--name", "gw-term"], t.after.bind(t));
  for (const cluster of [lanA, core]) await process.waitFor(new RegExp(`amoeba: gateway gw-term in cluster ${cluster}, gossip on udp://127\\.0\\.0\\.1:\\d+, calls on tcp://127\\.0\\.0\\.1:\\d+\\n`));
  process.child.kill("SIGTERM");
  const finished = await process.exited();
  assert.equal(finished.code, 0, finished.stderr);
  assert.match(finished.stdout, /gateway gw-term draining on SIGTERM[^\n]*\n(?:.*\n)*amoeba: gateway gw-term stopped\n/);
});

test("amoeba route refuses a bad command line with exit code 2", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /needs an action: explain <service.method>/],
    [["show", "a.b"], /unknown action "show"; the one action is explain/],
    [["explain"], /explain needs <service.method>/],
    [["explain", "calculator", "--cluster", "x"], /"calculator" is not <service.method>/],
    [["explain", "calculator.add"], /needs a cluster to look in/],
    [["explain", "calculator.add", "--seeds", "tcp://127.0.0.1:1"], /--seeds takes a gossip address/],
  ];
  for (const [args, message] of cases) {
    const run = await runCli(["route", ...args], t.after.bind(t));
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(" "));
  }
});

test("amoeba route explain shows the route a call from lan-a takes to region-b, and why", (t) =>
  withTeardown(async (td) => {
    const names = clusterNames();
    const far = await td.node({ name: "regional-1", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
    far.serve(Regional, regional("regional-1"));
    const core = await td.node({ name: "core-1", cluster: names.core, lookup });
    const caller = await td.node({ name: "caller", cluster: names.lanA, lookup });
    await gateway(td, { name: "gw-cb", join: { [names.core]: { seeds: [core.gossipAddress!] }, [names.regionB]: { seeds: [far.gossipAddress!] } } });
    await gateway(td, { name: "gw-ac", join: { [names.lanA]: { seeds: [caller.gossipAddress!] }, [names.core]: { seeds: [core.gossipAddress!] } } });
    await waitFor(() => caller.lookup(Regional).length === 1, 15_000, "lan-a learns the route");

    const where = ["--seeds", caller.gossipAddress!, "--cluster", names.lanA, "--wait", "5000"];
    const text = await runCli(["route", "explain", "route.regional.where", ...where], t.after.bind(t));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`\\* +gw-ac +1\\.0\\.0 +gateway +2 +${names.core} > ${names.regionB} +alive +tcp://`));
    assert.match(text.stdout, /calls go to gw-ac: through a gateway, by the cheapest route \(cost 2, /);

    const json = await runCli(["route", "explain", "route.regional.where", ...where, "--json"], t.after.bind(t));
    assert.equal(json.code, 0, json.stderr);
    type Explained = { method: string; rule?: string; groups: Array<{ candidates: Array<{ node: string; chosen: boolean; locality: string; cost: number; path: string[] }> }> };
    const explained = JSON.parse(json.stdout) as Explained;
    assert.equal(explained.method, "route.regional.where");
    assert.deepEqual(
      explained.groups[0]!.candidates.map((c) => [c.node, c.chosen, c.locality, c.cost, c.path]),
      [["gw-ac", true, "gateway", 2, [names.core, names.regionB]]],
    );

    // A rule that pins another cluster leaves no candidate; a bad one is a usage error.
    const pinned = await runCli(["route", "explain", "route.regional.where", ...where, "--json", "--rule", `route.regional pin ${names.core}`], t.after.bind(t));
    assert.equal(pinned.code, 1, pinned.stderr);
    const nothing = JSON.parse(pinned.stdout) as Explained;
    assert.equal(nothing.rule, `route.regional pin ${names.core}`);
    assert.deepEqual(nothing.groups[0]!.candidates, []);
    const bad = await runCli(["route", "explain", "route.regional.where", ...where, "--rule", "route.regional hop x"], t.after.bind(t));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--rule: route rule "route.regional hop x": unknown directive "hop"/);

    const none = await runCli(["route", "explain", "route.nowhere.call", ...where.slice(0, 4), "--wait", "500"], t.after.bind(t));
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stdout, /no instance of route\.nowhere is known in cluster/);
  }));
