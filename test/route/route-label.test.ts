// Route labels, the route table and the hop check: pure functions, including what a hostile member could put in its labels.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Member } from "../../src/index.ts";
import { nextHopMeta } from "../../src/route/hops.ts";
import { encodeRoutes, GATEWAY_LABEL, parseRoute, routeOf, UNKNOWN_ROUTE_COST } from "../../src/route-rules/route-label.ts";
import { RouteTable } from "../../src/route/route-table.ts";
import { RpcError } from "../../src/index.ts";

/** The routes of a new table brought up to date once with `views`. */
function routesInto(into: string, views: ReadonlyMap<string, readonly Member[]>, own: ReadonlySet<string>, hopCost: number, maxHops: number) {
  const table = new RouteTable(into, own, hopCost, maxHops);
  table.update(views);
  return table.routes;
}

function member(id: string, cluster: string, services: Array<[string, string]>, labels: Record<string, string> = {}, state: Member["state"] = "alive"): Member {
  return { record: { id, name: id, cluster, gossip: "udp://127.0.0.1:1", addresses: ["tcp://127.0.0.1:1"], labels, services, load: 0 }, state, incarnation: 0, since: 0 };
}

test("route labels round-trip, and unreadable ones count as unknown routes without throwing", () => {
  const labels = { [GATEWAY_LABEL]: "core,region-b", "amoeba.route.calc": encodeRoutes([
    { service: "calc", version: "1.2.0", cost: 2, path: ["core", "region-b"] },
    { service: "calc", version: "2.0.0", cost: 1, path: ["core"] },
  ]) };
  assert.equal(labels["amoeba.route.calc"], "1.2.0:2:core>region-b 2.0.0:1:core");
  assert.deepEqual(parseRoute(labels, "calc", "1.2.0"), { cost: 2, path: ["core", "region-b"] });
  assert.deepEqual(parseRoute(labels, "calc", "2.0.0"), { cost: 1, path: ["core"] });
  assert.equal(parseRoute(labels, "calc", "3.0.0"), undefined);
  assert.equal(routeOf({ service: "calc", version: "1.2.0", labels: { host: "h" } }), undefined, "a member without the gateway label is no route");
  for (const bad of ["", "1.2.0", "1.2.0:x:core", "1.2.0:-1:core", "1.2.0:1:", "1.2.0:1:core>>b", "1.2.0:1:co/re", "1.2.0:99999999999:core", "__proto__:1:core"]) {
    const odd = { [GATEWAY_LABEL]: "x,y", "amoeba.route.calc": bad };
    assert.equal(parseRoute(odd, "calc", "1.2.0"), undefined, bad);
    assert.deepEqual(routeOf({ service: "calc", version: "1.2.0", labels: odd }), { cost: UNKNOWN_ROUTE_COST, path: [] }, bad);
  }
});

test("the route table takes the cheapest way, adds the gateway's cost, and leaves out routes leading back, its own members and dead ones", () => {
  const views = new Map<string, Member[]>([
    ["lan-a", [member("caller", "lan-a", [["calc", "1.0.0"]])]],
    [
      "core",
      [
        member("me-core", "core", [["echo", "1.0.0"]], { [GATEWAY_LABEL]: "lan-a,core" }),
        member("gw-1", "core", [["calc", "1.0.0"], ["geo", "1.0.0"]], { [GATEWAY_LABEL]: "core,region-b", "amoeba.route.calc": "1.0.0:3:region-b", "amoeba.route.geo": "1.0.0:1:region-b" }),
        member("gw-2", "core", [["geo", "1.0.0"]], { [GATEWAY_LABEL]: "core,region-b", "amoeba.route.geo": "1.0.0:4:region-b" }),
        member("gw-back", "core", [["back", "1.0.0"]], { [GATEWAY_LABEL]: "core,lan-a", "amoeba.route.back": "1.0.0:1:lan-a" }),
        member("gw-silent", "core", [["mute", "1.0.0"]], { [GATEWAY_LABEL]: "core,x" }),
        member("dead", "core", [["gone", "1.0.0"]], {}, "dead"),
        member("core-1", "core", [["amoeba.stats", "1.0.0"], ["shop", "1.0.0"]]),
      ],
    ],
  ]);
  const into = routesInto("lan-a", views, new Set(["me-core", "caller"]), 2, 8);
  assert.deepEqual(
    [...into.values()].map((routes) => routes.map((r) => [r.service, r.cost, r.path.join(">"), r.via])).sort(),
    [
      [["calc", 5, "core>region-b", "core"]],
      [["geo", 3, "core>region-b", "core"]],
      [["shop", 2, "core", "core"]],
    ],
  );
  assert.equal(routesInto("lan-a", views, new Set(), 1, 1).get("calc@1.0.0"), undefined, "a path longer than the hop limit is left out");
});

test("a service served in several clusters gets one route per serving cluster, cheapest first, each by its cheapest way", () => {
  const gateway = (id: string, route: string): Member => member(id, "core", [["calc", "1.0.0"]], { [GATEWAY_LABEL]: "core,far", "amoeba.route.calc": route });
  const views = new Map<string, Member[]>([
    ["core", [member("calc-core", "core", [["calc", "1.0.0"]]), gateway("gw-1", "1.0.0:4:region-b 1.0.0:2:core>x"), gateway("gw-2", "1.0.0:3:region-b 1.0.0:9:region-c")]],
  ]);
  const routes = routesInto("lan-a", views, new Set(), 1, 8).get("calc@1.0.0")!;
  assert.deepEqual(
    routes.map((r) => [r.cost, r.path.join(">")]),
    [
      [1, "core"],
      [4, "core>region-b"],
      [10, "core>region-c"],
    ],
    "core's own instance, region-b by gw-2 (cheaper than gw-1), region-c; gw-1's way back through core is left out",
  );
  assert.equal(encodeRoutes(routes), "1.0.0:1:core 1.0.0:4:core>region-b 1.0.0:10:core>region-c");
});

test("each hop adds itself to the call's way; a loop, the hop limit or garbled metadata is refused, unprocessed", () => {
  const hop = { service: "calc", method: "add", gateway: "gw-2", maxHops: 3 };
  assert.deepEqual(nextHopMeta({ traceparent: "t" }, hop), { traceparent: "t", "amoeba-hops": "1", "amoeba-via": "gw-2" });
  assert.deepEqual(nextHopMeta({ "amoeba-hops": "1", "amoeba-via": "gw-1" }, hop), { "amoeba-hops": "2", "amoeba-via": "gw-1,gw-2" });
  for (const [meta, code, pattern] of [
    [{ "amoeba-hops": "1", "amoeba-via": "gw-2" }, "FAILED_PRECONDITION", /the route loops/],
    [{ "amoeba-hops": "3", "amoeba-via": "a,b,c" }, "FAILED_PRECONDITION", /more than 3 gateways/],
    [{ "amoeba-hops": "-1" }, "INVALID_ARGUMENT", /whole number/],
    [{ "amoeba-hops": "1e3" }, "INVALID_ARGUMENT", /whole number/],
  ] as const) {
    const error = nextHopMeta(meta, hop);
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    assert.equal(error.unprocessed, true);
  }
});
