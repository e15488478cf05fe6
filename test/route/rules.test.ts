// Route rules, in code and in call metadata: a 90/10 canary, a pinned cluster, a failover order between clusters.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { contract, ROUTE_META, VIA_META, parseRouteRules } from "../../src/index.ts";
import { explainRoute } from "../../src/route/explain.ts";
import { rejection, waitFor, withTeardown } from "../rpc/support.ts";
import { clusterNames, gateway, lookup, Regional, regional, useRendezvous } from "./fixture.ts";

let cleanRendezvous: () => Promise<void>;
before(async () => {
  cleanRendezvous = await useRendezvous();
});
after(() => cleanRendezvous());

const Canary = contract(Regional.name, "1.1.0", Regional.methods);

test("weights split calls between versions, 90/10, and a canary that is gone gets none", () =>
  withTeardown(async (td) => {
    const { core } = clusterNames();
    const stable = await td.node({ name: "stable", cluster: core, listen: "tcp://127.0.0.1:0", lookup });
    stable.serve(Regional, regional("stable"));
    const canary = await td.node({ name: "canary", cluster: core, listen: "tcp://127.0.0.1:0", lookup });
    canary.serve(Canary, regional("canary"));
    const caller = await td.node({ name: "caller", cluster: core, lookup, routes: `${Regional.name} weights 1.0.x=90 1.1.x=10` });
    await waitFor(() => caller.lookup(Regional).length === 2, 15_000, "both versions are known");

    const client = caller.client(Regional);
    const counts = { stable: 0, canary: 0 };
    for (let i = 0; i < 400; i++) counts[(await client.where({}, { timeout: 10_000 })).node as "stable" | "canary"]++;
    // 10% of 400 is 40, with a standard deviation of 6: far wider bounds than luck needs.
    assert.ok(counts.canary >= 12 && counts.canary <= 80, `the canary got ${counts.canary} of 400 calls`);
    assert.equal(counts.stable + counts.canary, 400);

    await canary.close({ timeout: 1_000 });
    await waitFor(() => caller.lookup(Regional).length === 1, 15_000, "the canary is gone");
    for (let i = 0; i < 20; i++) assert.equal((await client.where({}, { timeout: 10_000 })).node, "stable");
  }));

test("a pin in call metadata and a failover order in code steer calls across gateways; bad rules fail clearly", () =>
  withTeardown(async (td) => {
    const names = clusterNames();
    const inCore = await td.node({ name: "core-svc", cluster: names.core, listen: "tcp://127.0.0.1:0", lookup });
    inCore.serve(Regional, regional("core-svc"));
    const inRegion = await td.node({ name: "region-svc", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
    inRegion.serve(Regional, regional("region-svc"));
    const caller = await td.node({ name: "caller", cluster: names.lanA, lookup });
    const regionFirst = await td.node({ name: "caller-2", cluster: names.lanA, lookup, routes: [{ service: Regional.name, clusters: [names.regionB, names.core] }] });
    const gwCb = await gateway(td, { name: "gw-cb", join: { [names.core]: { seeds: [inCore.gossipAddress!] }, [names.regionB]: { seeds: [inRegion.gossipAddress!] } } });
    const gwAc = await gateway(td, { name: "gw-ac", join: { [names.lanA]: { seeds: [caller.gossipAddress!] }, [names.core]: { seeds: [inCore.gossipAddress!] } } });
    await waitFor(() => gwCb.routes(names.core).length === 1 && gwAc.routes(names.lanA).length === 2, 15_000, "gw-ac advertises a route to each cluster that serves it");
    assert.deepEqual(
      gwAc.routes(names.lanA).map((r) => [r.cost, r.path]),
      [[1, [names.core]], [2, [names.core, names.regionB]]],
    );
    // gw-ac's label gains the route to region-b after its first one: lan-a must have heard of both.
    const pinMeta = { [ROUTE_META]: `${Regional.name} pin ${names.regionB}` };
    const reachesRegion = (node: typeof caller): boolean => {
      const explained = explainRoute(node, Regional.name, undefined, pinMeta);
      return !(explained instanceof Error) && explained.groups[0]!.candidates.length > 0;
    };
    await waitFor(
      () => caller.lookup(Regional).length === 1 && regionFirst.lookup(Regional).length === 1 && reachesRegion(caller) && reachesRegion(regionFirst),
      15_000,
      "lan-a sees gw-ac and both of its routes",
    );

    // In core, its own instance comes before the route to region-b.
    const inCoreCaller = await td.node({ name: "core-caller", cluster: names.core, lookup });
    await waitFor(() => inCoreCaller.lookup(Regional).length === 2, 15_000, "core sees its instance and gw-cb's route");
    for (let i = 0; i < 10; i++) assert.equal((await inCoreCaller.client(Regional).where({}, { timeout: 10_000 })).node, "core-svc");
    const tiers = inCoreCaller.stats().services.find((s) => s.service === Regional.name)!.instances.map((i) => [i.node, i.locality]).sort();
    assert.deepEqual(tiers, [["core-svc", "host"], ["gw-cb", "gateway"]]);

    const client = caller.client(Regional);
    assert.equal((await client.where({}, { timeout: 10_000 })).node, "core-svc", "by default, the cheapest route");
    const pinned = await client.where({}, { timeout: 10_000, meta: { [ROUTE_META]: `${Regional.name} pin ${names.regionB}` } });
    assert.equal(pinned.node, "region-svc");
    assert.equal(pinned.meta[VIA_META], "gw-ac,gw-cb");

    // Explained: the cheapest route by default, the pinned one under the rule.
    const plain = explainRoute(caller, Regional.name);
    const underPin = explainRoute(caller, Regional.name, undefined, { [ROUTE_META]: `${Regional.name} pin ${names.regionB}` });
    assert.ok(!(plain instanceof Error) && !(underPin instanceof Error));
    assert.deepEqual(plain.groups[0]!.candidates.map((c) => [c.node, c.cost, c.path, c.chosen]), [["gw-ac", 1, [names.core], true]]);
    assert.equal(underPin.rule, `${Regional.name} pin ${names.regionB}`);
    assert.deepEqual(underPin.groups[0]!.candidates.map((c) => [c.node, c.cost, c.path, c.chosen]), [["gw-ac", 2, [names.core, names.regionB], true]]);

    const ordered = regionFirst.client(Regional);
    for (let i = 0; i < 5; i++) assert.equal((await ordered.where({}, { timeout: 10_000 })).node, "region-svc", "region-b first, as the order says");
    await inRegion.close({ timeout: 1_000 });
    await waitFor(() => gwAc.routes(names.lanA).length === 1 && !reachesRegion(regionFirst) && !reachesRegion(caller), 15_000, "the route to region-b goes, in lan-a's view too");
    assert.equal((await ordered.where({}, { timeout: 10_000 })).node, "core-svc", "then core, next in the order");

    const nowhere = await rejection(client.where({}, { timeout: 10_000, meta: { [ROUTE_META]: `${Regional.name} pin ${names.regionB}` } }));
    assert.equal(nowhere.code, "UNAVAILABLE");
    assert.match(nowhere.message, /no instance of route\.regional/);
    const garbled = await rejection(client.where({}, { timeout: 10_000, meta: { [ROUTE_META]: `${Regional.name} teleport x` } }));
    assert.equal(garbled.code, "INVALID_ARGUMENT");
    assert.match(garbled.message, /metadata amoeba-route: route rule "route.regional teleport x": unknown directive "teleport"/);
  }));

test("route rules in code or text are checked: every mistake is a TypeError that says what is wrong", () => {
  assert.deepEqual([...parseRouteRules("calc weights 1.2.x=90 1.3.0=10 # canary\n calc pin core; geo clusters a b").entries()], [
    ["calc", { service: "calc", weights: { "1.2.x": 90, "1.3.0": 10 }, pin: "core" }],
    ["geo", { service: "geo", clusters: ["a", "b"] }],
  ]);
  const cases: Array<[string | unknown[], RegExp]> = [
    ["calc", /expected <service> weights\|clusters\|pin/],
    ["calc pin", /pin needs values/],
    ["calc pin a b", /pin takes one cluster/],
    ["calc weights 1.2.x", /weights are <version range>=<whole number>, not "1.2.x"/],
    ["calc weights nope=3", /"nope" is not a version range/],
    ["calc weights 1.x=0", /at least one weight must be above 0/],
    ["calc jump a", /unknown directive "jump"/],
    ["9calc pin a", /"9calc" is not a service name/],
    ["calc pin a/b", /pin must be a cluster name/],
    ["x".repeat(5000), /longer than 4096/],
    [[{ service: "calc", clusters: [] }], /clusters must be cluster names/],
    [[{ service: "calc", weights: { "1.x": -1 } }], /must be a whole number ≥ 0/],
    [[null], /must be an object/],
  ];
  for (const [rules, message] of cases) assert.throws(() => parseRouteRules(rules as string), (error: Error) => error instanceof TypeError && message.test(error.message), String(rules).slice(0, 40));
});
