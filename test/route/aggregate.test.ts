// Aggregates: one route for a namespace or a cluster's services, calls through it without a contract, misses, withdrawal, and which route wins.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startGateway } from "../../src/index.ts";
import { explainRoute } from "../../src/route/explain.ts";
import { planGateway } from "../../src/cli/gateway.ts";
import { parseCommandArgs } from "../../src/cli/args.ts";
import { GATEWAY } from "../../src/cli/usage.ts";
import { runCli } from "../cli/support.ts";
import { rejection, sleep, waitFor, withTeardown } from "../rpc/support.ts";
import { Cart, CartPlus, Invoices, Missing, Orders, routeLabels, serveCart, serveInvoices, serveOrders } from "./aggregate-fixture.ts";
import { clusterNames, gateway, lookup, useRendezvous } from "./fixture.ts";

let cleanRendezvous: () => Promise<void>;
before(async () => {
  cleanRendezvous = await useRendezvous();
});
after(() => cleanRendezvous());

test("an aggregate is one route entry for a namespace; calls pass through it; a miss under it fails NOT_FOUND; it goes when the last service it covers goes", () =>
  withTeardown(async (td) => {
    const { core, regionB } = clusterNames();
    const far = await td.node({ name: "far-1", cluster: regionB, listen: "tcp://127.0.0.1:0", lookup });
    const stopCart = serveCart(far);
    const stopOrders = serveOrders(far);
    serveInvoices(far);
    const caller = await td.node({ name: "caller", cluster: core, lookup });
    const gw = await gateway(td, { name: "gw-cb", aggregate: ["shop.*"], join: { [core]: { seeds: [caller.gossipAddress!] }, [regionB]: { seeds: [far.gossipAddress!] } } });
    await waitFor(() => caller.lookup(Invoices).length === 1 && routeLabels(caller.lookup(Invoices)[0]!.labels).length === 2, 15_000, "core learns the routes");

    // Two shop services, one entry: shop.* at the gateway's cost; billing keeps its own.
    assert.deepEqual(routeLabels(caller.lookup(Invoices)[0]!.labels), ["amoeba.route.billing.invoice", "amoeba.route.shop.*"]);
    assert.equal(caller.lookup(Invoices)[0]!.labels["amoeba.route.shop.*"], `*:1:${regionB}`);
    assert.deepEqual(
      gw.routes(core).map((r) => [r.service, r.version, r.cost, r.path]).sort(),
      [["billing.invoice", "1.0.0", 1, [regionB]], ["shop.*", "*", 1, [regionB]]],
    );
    assert.deepEqual(caller.lookup(Cart), [], "no route of shop.cart's own is advertised");

    // Calls through the aggregate: unary and a stream, forwarded without a contract.
    assert.deepEqual(await caller.client(Cart).add({ item: "tea" }, { timeout: 10_000 }), { node: "far-1", item: "tea" });
    assert.deepEqual(await caller.client(Orders).where({}, { timeout: 10_000 }), { node: "far-1", via: "gw-cb" });
    const counted: number[] = [];
    for await (const n of caller.client(Cart).count({ to: 3 }, { timeout: 10_000 })) counted.push(n);
    assert.deepEqual(counted, [1, 2, 3]);

    // The gateway lets any input through: the far instance validates it.
    const invalid = await rejection(caller.client(Cart).add({ item: 42 } as never, { timeout: 10_000 }));
    assert.equal(invalid.code, "INVALID_ARGUMENT");
    assert.equal(invalid.node, "far-1");

    // A name the aggregate covers but nothing serves: NOT_FOUND from the gateway, not a hang.
    const missing = await rejection(caller.client(Missing).where({}, { timeout: 10_000 }));
    assert.equal(missing.code, "NOT_FOUND");
    assert.equal(missing.unprocessed, true);
    assert.equal(missing.node, "gw-cb");
    assert.match(missing.message, /no service shop\.missing@\^1\.0\.0 is known behind gateway gw-cb/);
    // A method the far service lacks: its own UNIMPLEMENTED.
    const noMethod = await rejection(caller.client(CartPlus).remove({}, { timeout: 10_000 }));
    assert.equal(noMethod.code, "UNIMPLEMENTED");
    assert.equal(noMethod.node, "far-1");

    // One service left under it: the aggregate stays, and the gone one is a miss.
    stopCart();
    // Until the gateway worked its routes out again, a call still finds shop.cart's old route there (UNAVAILABLE).
    let miss = await rejection(caller.client(Cart).add({ item: "tea" }, { timeout: 10_000 }));
    for (let attempt = 0; attempt < 100 && miss.code !== "NOT_FOUND"; attempt++) {
      await sleep(50);
      miss = await rejection(caller.client(Cart).add({ item: "tea" }, { timeout: 10_000 }));
    }
    assert.equal(miss.code, "NOT_FOUND", miss.message);
    assert.equal(miss.node, "gw-cb");
    assert.ok(gw.routes(core).some((r) => r.service === "shop.*"), "shop.orders still keeps shop.* advertised");
    assert.equal((await caller.client(Orders).where({}, { timeout: 10_000 })).node, "far-1");

    // None left: withdrawn, from the gateway and from the callers' view.
    stopOrders();
    await waitFor(() => !gw.routes(core).some((r) => r.service === "shop.*"), 15_000, "the aggregate is withdrawn");
    await waitFor(() => routeLabels(caller.lookup(Invoices)[0]!.labels).length === 1, 15_000, "core sees it withdrawn");
    assert.deepEqual(routeLabels(caller.lookup(Invoices)[0]!.labels), ["amoeba.route.billing.invoice"]);
    const gone = await rejection(caller.client(Orders).where({}, { timeout: 10_000 }));
    assert.equal(gone.code, "UNAVAILABLE");
    assert.match(gone.message, /no instance of shop\.orders/);
    assert.equal((await caller.client(Invoices).where({}, { timeout: 10_000 })).node, "far-1");
  }));

test("a service's own route beats an aggregate, the longest pattern beats a shorter one, the cheaper aggregate wins, a local instance beats them all; explain says which", (t) =>
  withTeardown(async (td) => {
    const tag = `${process.pid}-${Math.floor(Math.random() * 1e6)}`;
    const [core, b, c, d] = ["core", "b", "c", "d"].map((name) => `${name}-${tag}`) as [string, string, string, string];
    const inB = await td.node({ name: "b-1", cluster: b, listen: "tcp://127.0.0.1:0", lookup });
    serveCart(inB);
    serveOrders(inB);
    const inC = await td.node({ name: "c-1", cluster: c, listen: "tcp://127.0.0.1:0", lookup });
    serveOrders(inC);
    serveInvoices(inC);
    const inD = await td.node({ name: "d-1", cluster: d, listen: "tcp://127.0.0.1:0", lookup });
    serveCart(inD);
    const caller = await td.node({ name: "caller", cluster: core, lookup });
    const seeds = (cluster: string, node: { gossipAddress: string | undefined }) => ({ [cluster]: { seeds: [node.gossipAddress!] } });
    const coreSeeds = seeds(core, caller);
    await gateway(td, { name: "gw-b", cost: 5, aggregate: ["shop.*"], join: { ...coreSeeds, ...seeds(b, inB) } });
    await gateway(td, { name: "gw-b2", cost: 2, aggregate: ["shop.*"], join: { ...coreSeeds, ...seeds(b, inB) } });
    await gateway(td, { name: "gw-c", cost: 1, aggregate: [c], join: { ...coreSeeds, ...seeds(c, inC) } });
    await gateway(td, { name: "gw-d", cost: 9, join: { ...coreSeeds, ...seeds(d, inD) } });
    const gatewayLabels = (name: string) => caller.members().find((m) => m.record.name === name && m.record.cluster === core)?.record.labels ?? {};
    await waitFor(
      () => caller.lookup(Cart).length === 1 && ["gw-b", "gw-b2"].every((name) => gatewayLabels(name)["amoeba.route.shop.*"] !== undefined) && gatewayLabels("gw-c")["amoeba.route.*"] !== undefined,
      20_000,
      "core learns every route",
    );
    assert.deepEqual(routeLabels(gatewayLabels("gw-c")), ["amoeba.route.*"], "everything of c is one entry");

    // shop.cart has a route of its own (gw-d, cost 9): it beats every aggregate, however cheap.
    const cart = await caller.client(Cart).where({}, { timeout: 10_000 });
    assert.deepEqual(cart, { node: "d-1", via: "gw-d" });
    // shop.orders has none: shop.* (longer) beats * (gw-c, cost 1); of the two shop.*, the cheaper.
    assert.deepEqual(await caller.client(Orders).where({}, { timeout: 10_000 }), { node: "b-1", via: "gw-b2" });
    // billing.invoice: only * covers it.
    assert.deepEqual(await caller.client(Invoices).where({}, { timeout: 10_000 }), { node: "c-1", via: "gw-c" });

    const explained = explainRoute(caller, Orders.name);
    assert.ok(!(explained instanceof Error));
    const group = explained.groups[0]!;
    assert.deepEqual(
      group.candidates.map((each) => [each.node, each.aggregate, each.cost, each.path, each.chosen]),
      [
        ["gw-b2", "shop.*", 2, [b], true],
        ["gw-b", "shop.*", 5, [b], false],
      ],
    );
    assert.match(group.reason, /calls go to gw-b2: through a gateway, by the cheapest aggregate shop\.\* \(no route of shop\.orders's own is known\) \(cost 2, b-/);
    const own = explainRoute(caller, Cart.name);
    assert.ok(!(own instanceof Error));
    assert.deepEqual(own.groups[0]!.candidates.map((each) => [each.node, each.aggregate]), [["gw-d", undefined]]);

    // The command shows the aggregate in a column of its own.
    const where = ["--seeds", caller.gossipAddress!, "--cluster", core, "--wait", "5000"];
    const text = await runCli(["route", "explain", "shop.orders.where", ...where], t.after.bind(t));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /NODE +VERSION +AGGREGATE +LOCALITY +COST +PATH/);
    assert.match(text.stdout, new RegExp(`\\* +gw-b2 +\\* +shop\\.\\* +gateway +2 +${b} +alive +tcp://`));
    assert.match(text.stdout, /by the cheapest aggregate shop\.\*/);
    const json = await runCli(["route", "explain", "billing.invoice.where", ...where, "--json"], t.after.bind(t));
    assert.equal(json.code, 0, json.stderr);
    const candidates = (JSON.parse(json.stdout) as { groups: Array<{ candidates: Array<{ node: string; aggregate?: string; chosen: boolean }> }> }).groups[0]!.candidates;
    assert.deepEqual(candidates.map((each) => [each.node, each.aggregate, each.chosen]), [["gw-c", "*", true]]);

    // An instance in the caller's own cluster beats every route.
    const local = await td.node({ name: "core-orders", cluster: core, listen: "tcp://127.0.0.1:0", lookup });
    serveOrders(local);
    await waitFor(() => caller.lookup(Orders).length === 1, 15_000, "core learns its own instance");
    assert.deepEqual(await caller.client(Orders).where({}, { timeout: 10_000 }), { node: "core-orders", via: null });
  }));

test("aggregates are checked: a pattern, a cluster the gateway joins, or a pattern in a cluster", async () => {
  const join = { core: {}, "region-b": {} };
  for (const [aggregate, message] of [
    ["shop", /neither a pattern such as shop\.\* nor a cluster this gateway joins \(core, region-b\)/],
    ["shop*", /must be "\*" or dot-separated words ending in "\.\*"/],
    ["shop.* into core", /is not "<pattern>", "<cluster>" or "<pattern> in <cluster>"/],
    ["shop.* in bad/name", /is not a cluster name/],
  ] as const) {
    await assert.rejects(startGateway({ join, aggregate: [aggregate] }), (error: unknown) => error instanceof TypeError && message.test(error.message), aggregate);
  }
  const args = (extra: string[]) => parseCommandArgs(GATEWAY, ["--join", "core", "--join", "region-b", ...extra]);
  assert.deepEqual(planGateway(args(["--aggregate", "shop.*", "--aggregate", "region-b", "--aggregate", "* in region-c"])).aggregate, [
    { services: "shop.*" },
    { services: "*", cluster: "region-b" },
    { services: "*", cluster: "region-c" },
  ]);
  assert.throws(() => planGateway(args(["--aggregate", "shop"])), /--aggregate "shop": neither a pattern/);
});
