// Loops: a call that comes back to a gateway or crosses too many is refused, and routes round a ring of clusters never loop.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { HOPS_META, VIA_META } from "../../src/index.ts";
import { rejection, waitFor, withTeardown } from "../rpc/support.ts";
import { clusterNames, gateway, lookup, Regional, regional, useRendezvous } from "./fixture.ts";

let cleanRendezvous: () => Promise<void>;
before(async () => {
  cleanRendezvous = await useRendezvous();
});
after(() => cleanRendezvous());

test("a call that would come back to a gateway, or cross more gateways than the hop limit, fails clearly and never reaches the service", () =>
  withTeardown(async (td) => {
    const names = clusterNames();
    let reached = 0;
    const handlers = regional("regional-1");
    const far = await td.node({ name: "regional-1", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
    far.serve(Regional, {
      ...handlers,
      where: (input, ctx) => {
        reached++;
        return handlers.where(input, ctx);
      },
    });
    const core = await td.node({ name: "core-1", cluster: names.core, lookup });
    const caller = await td.node({ name: "caller", cluster: names.lanA, lookup });
    await gateway(td, { name: "gw-cb", maxHops: 1, join: { [names.core]: { seeds: [core.gossipAddress!] }, [names.regionB]: { seeds: [far.gossipAddress!] } } });
    await gateway(td, { name: "gw-ac", join: { [names.lanA]: { seeds: [caller.gossipAddress!] }, [names.core]: { seeds: [core.gossipAddress!] } } });
    await waitFor(() => caller.lookup(Regional).length === 1 && core.lookup(Regional).length === 1, 15_000, "the routes are known");

    // From core, one hop: within gw-cb's limit of 1.
    assert.equal((await core.client(Regional).where({}, { timeout: 10_000 })).node, "regional-1");
    assert.equal(reached, 1);

    const looped = await rejection(core.client(Regional).where({}, { timeout: 10_000, meta: { [VIA_META]: "gw-x,gw-cb" } }));
    assert.equal(looped.code, "FAILED_PRECONDITION");
    assert.match(looped.message, /the route loops: the call came back to gateway gw-cb \(gw-x > gw-cb > gw-cb\); not followed/);
    assert.equal(looped.unprocessed, true);

    // From lan-a, two hops: gw-cb refuses the second.
    const tooFar = await rejection(caller.client(Regional).where({}, { timeout: 10_000 }));
    assert.equal(tooFar.code, "FAILED_PRECONDITION");
    assert.match(tooFar.message, /more than 1 gateways, the hop limit \(gw-ac > gw-cb\)/);
    assert.ok(tooFar.message.endsWith(`(in cluster ${names.core}, through gateway gw-ac)`), tooFar.message);
    assert.equal(tooFar.node, "gw-cb");

    const garbled = await rejection(core.client(Regional).where({}, { timeout: 10_000, meta: { [HOPS_META]: "many" } }));
    assert.equal(garbled.code, "INVALID_ARGUMENT");
    assert.match(garbled.message, /amoeba-hops must be a whole number/);
    assert.equal(reached, 1, "no refused call reached the service");
  }));

test("round a ring of three clusters, routes take the cheapest way, never list a cluster twice, and all go when the service goes", () =>
  withTeardown(async (td) => {
    const { lanA: a, core: b, regionB: c } = clusterNames();
    const far = await td.node({ name: "regional-1", cluster: c, listen: "tcp://127.0.0.1:0", lookup });
    far.serve(Regional, regional("regional-1"));
    const inA = await td.node({ name: "a-1", cluster: a, lookup });
    const inB = await td.node({ name: "b-1", cluster: b, lookup });
    const seeds = { [a]: { seeds: [inA.gossipAddress!] }, [b]: { seeds: [inB.gossipAddress!] }, [c]: { seeds: [far.gossipAddress!] } };
    const ab = await gateway(td, { name: "gw-ab", join: { [a]: seeds[a]!, [b]: seeds[b]! } });
    const bc = await gateway(td, { name: "gw-bc", join: { [b]: seeds[b]!, [c]: seeds[c]! } });
    const ca = await gateway(td, { name: "gw-ca", join: { [c]: seeds[c]!, [a]: seeds[a]! } });
    await waitFor(() => ab.routes(a).length === 1 && ab.routes(b).length === 1, 15_000, "gw-ab advertises the service both ways");

    const all = [ab, bc, ca].flatMap((g) => g.routes().filter((r) => r.service === Regional.name));
    for (const route of all) {
      assert.equal(new Set([route.cluster, ...route.path]).size, route.path.length + 1, `a route lists a cluster twice: ${JSON.stringify(route)}`);
    }
    // From a, the direct way through gw-ca (cost 1) is preferred to the way round through b (cost 2).
    await waitFor(() => inA.lookup(Regional).length === 2, 15_000, "a sees both routes");
    const seen = await inA.client(Regional).where({}, { timeout: 10_000 });
    assert.equal(seen.meta[VIA_META], "gw-ca");
    const localities = inA.stats().services.find((s) => s.service === Regional.name)!.instances.map((i) => [i.node, i.locality]).sort();
    assert.deepEqual(localities, [["gw-ab", "gateway"], ["gw-ca", "gateway"]]);

    await far.close({ timeout: 1_000 });
    await waitFor(() => [ab, bc, ca].every((g) => g.routes().length === 0), 15_000, "every route goes once the service is gone: none keeps another alive");
    await waitFor(() => inA.lookup(Regional).length === 0 && inB.lookup(Regional).length === 0, 15_000, "callers see no route");
  }));
