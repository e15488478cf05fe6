// Aggregates and loops: passed on through gateways that do not aggregate, never back into a cluster they came from, within the hop limit, and all gone with the services.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Gateway } from "../../src/index.ts";
import { rejection, waitFor, withTeardown } from "../rpc/support.ts";
import { Cart, Orders, routeLabels, serveCart, serveOrders } from "./aggregate-fixture.ts";
import { clusterNames, gateway, lookup, useRendezvous } from "./fixture.ts";

let cleanRendezvous: () => Promise<void>;
before(async () => {
  cleanRendezvous = await useRendezvous();
});
after(() => cleanRendezvous());

/** The route labels of gateway `name`'s member in `cluster`, as a node there sees them. */
function labelsSeen(node: { members(): Array<{ record: { name: string; cluster: string; labels: Record<string, string> } }> }, name: string, cluster: string): Record<string, string> {
  return node.members().find((m) => m.record.name === name && m.record.cluster === cluster)?.record.labels ?? {};
}

test("an aggregate is passed on as one entry by a gateway that does not aggregate, and a call that would cross more gateways than the hop limit fails clearly", () =>
  withTeardown(async (td) => {
    const { lanA, core, regionB } = clusterNames();
    const far = await td.node({ name: "far-1", cluster: regionB, listen: "tcp://127.0.0.1:0", lookup });
    serveCart(far);
    serveOrders(far);
    const inCore = await td.node({ name: "core-1", cluster: core, lookup });
    const caller = await td.node({ name: "caller", cluster: lanA, lookup });
    await gateway(td, { name: "gw-cb", maxHops: 1, aggregate: ["shop.*"], join: { [core]: { seeds: [inCore.gossipAddress!] }, [regionB]: { seeds: [far.gossipAddress!] } } });
    const ac = await gateway(td, { name: "gw-ac", join: { [lanA]: { seeds: [caller.gossipAddress!] }, [core]: { seeds: [inCore.gossipAddress!] } } });
    await waitFor(() => labelsSeen(caller, "gw-ac", lanA)["amoeba.route.shop.*"] !== undefined, 15_000, "lan-a learns the aggregate");

    // gw-ac holds no contract of the shop services and advertises the aggregate on, one entry, one hop dearer.
    assert.deepEqual(routeLabels(labelsSeen(caller, "gw-ac", lanA)), ["amoeba.route.shop.*"]);
    assert.deepEqual(ac.routes(lanA).map((r) => [r.service, r.cost, r.path]), [["shop.*", 2, [core, regionB]]]);
    // Nor back into core, where it came from.
    assert.deepEqual(ac.routes(core), []);

    // From core: one gateway, within gw-cb's limit of 1.
    assert.deepEqual(await inCore.client(Orders).where({}, { timeout: 10_000 }), { node: "far-1", via: "gw-cb" });
    // From lan-a: the second gateway refuses it, not processed.
    const tooFar = await rejection(caller.client(Orders).where({}, { timeout: 10_000 }));
    assert.equal(tooFar.code, "FAILED_PRECONDITION");
    assert.match(tooFar.message, /more than 1 gateways, the hop limit \(gw-ac > gw-cb\)/);
    assert.equal(tooFar.node, "gw-cb");
    assert.equal(tooFar.unprocessed, true);
  }));

test("round a ring of three clusters that all aggregate shop.*, no aggregate lists a cluster twice or goes back where it came from, calls take the cheapest way, and all go when the services go", () =>
  withTeardown(async (td) => {
    const { lanA: a, core: b, regionB: c } = clusterNames();
    const far = await td.node({ name: "c-1", cluster: c, listen: "tcp://127.0.0.1:0", lookup });
    const stopCart = serveCart(far);
    const inA = await td.node({ name: "a-1", cluster: a, lookup });
    const inB = await td.node({ name: "b-1", cluster: b, lookup });
    const seeds = { [a]: { seeds: [inA.gossipAddress!] }, [b]: { seeds: [inB.gossipAddress!] }, [c]: { seeds: [far.gossipAddress!] } };
    const aggregate = ["shop.*"];
    const ab = await gateway(td, { name: "gw-ab", aggregate, join: { [a]: seeds[a]!, [b]: seeds[b]! } });
    const bc = await gateway(td, { name: "gw-bc", aggregate, join: { [b]: seeds[b]!, [c]: seeds[c]! } });
    const ca = await gateway(td, { name: "gw-ca", aggregate, join: { [c]: seeds[c]!, [a]: seeds[a]! } });
    const gateways: Gateway[] = [ab, bc, ca];
    // gw-ab learns shop.* both ways: from gw-bc in b (c by b), from gw-ca in a (c by a).
    await waitFor(() => ab.routes(a).length === 1 && ab.routes(b).length === 1, 15_000, "gw-ab passes the aggregates on both ways");

    const all = gateways.flatMap((g) => g.routes());
    assert.ok(all.length > 0 && all.every((r) => r.service === "shop.*"), JSON.stringify(all));
    for (const route of all) {
      assert.equal(new Set([route.cluster, ...route.path]).size, route.path.length + 1, `an aggregate lists a cluster twice, or leads back: ${JSON.stringify(route)}`);
    }
    // Nothing is advertised into c, where shop.cart is: every way there would lead back.
    assert.deepEqual([...bc.routes(c), ...ca.routes(c)], []);
    assert.deepEqual(ab.routes(a).map((r) => [r.cost, r.path]), [[2, [b, c]]]);

    // From a: the direct way through gw-ca (cost 1) before the way round through b (cost 2).
    await waitFor(() => ["gw-ab", "gw-ca"].every((name) => labelsSeen(inA, name, a)["amoeba.route.shop.*"] !== undefined), 15_000, "a sees both aggregates");
    const seen = await inA.client(Cart).where({}, { timeout: 10_000 });
    assert.deepEqual(seen, { node: "c-1", via: "gw-ca" });
    const withVia = await inB.client(Cart).where({}, { timeout: 10_000 });
    assert.deepEqual(withVia, { node: "c-1", via: "gw-bc" });

    stopCart();
    await waitFor(() => gateways.every((g) => g.routes().length === 0), 15_000, "every aggregate goes once the service is gone: none keeps another alive");
    await waitFor(
      () => ["gw-ab", "gw-ca"].every((name) => routeLabels(labelsSeen(inA, name, a)).length === 0) && ["gw-ab", "gw-bc"].every((name) => routeLabels(labelsSeen(inB, name, b)).length === 0),
      15_000,
      "callers see no aggregate",
    );
  }));
