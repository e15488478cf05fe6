import assert from "node:assert/strict";
import { test } from "node:test";
import { runHierarchy, type HierarchyResult } from "../../bench/hierarchy/scenario.ts";
import type { Shape } from "../../bench/hierarchy/topology.ts";

// A small hierarchy (1 core, 2 regions × 2 sites × 2 LANs: 15 clusters, 28
// gateways, 72 members) of the real membership, catalog and route code on
// the simulated network: every pair of LAN and service is checked.
const SHAPE: Shape = { regions: 2, sitesPerRegion: 2, lansPerSite: 2, nodesPerLan: 2, services: 100, globals: 10, aggregate: true };
const LIMITS = { formMs: 60_000, steadyMs: 5_000, phaseMs: 30_000, pairs: 5_000 };

let first: HierarchyResult | undefined;

test("a simulated hierarchy: every service is reached from every cluster, by the nearest instance, with no loop and within the hop limit", async () => {
  const r = (first = await runHierarchy(SHAPE, 11, LIMITS));
  assert.ok(r.formedMs >= 0, "formed within the limit");
  assert.equal(r.reach.pairs, 8 * 100, "every LAN with every service");
  assert.equal(r.reach.reached, r.reach.pairs, "every service reached from every LAN");
  assert.equal(r.fromOthers.pairs, 7 * 100, "every service from the core, the regions and the sites");
  assert.equal(r.fromOthers.reached, r.fromOthers.pairs, "every service reached from the clusters without service nodes");
  assert.equal(r.reach.globalReached, r.reach.globalPairs);
  assert.equal(r.reach.loops, 0, "no route loops");
  assert.equal(r.reach.overHops, 0, "no route passes the hop limit");
  assert.ok(r.reach.maxHops <= 8, `at most the hop limit of gateways (${r.reach.maxHops})`);
  assert.equal(r.reach.nearest, r.reach.pairs, "callers reach the nearest instance");
  assert.equal(r.reach.globalNearest, r.reach.globalPairs, "callers reach the nearest copy of a global service");
  assert.ok(r.entries.max < 100, `aggregates keep the tables small (${r.entries.max} entries at most)`);
});

test("a simulated hierarchy: a new service is reached everywhere, and once gone it is withdrawn everywhere", () => {
  const r = first!;
  assert.equal(r.appearLocal.missing, 0, "a service under an aggregate is reached from every LAN");
  assert.equal(r.appearGlobal.missing, 0, "a global service is reached from every LAN");
  assert.equal(r.appearGlobalGateways.missing, 0, "every gateway advertises the global service");
  assert.equal(r.disappearGlobalGateways.missing, 0, "every gateway withdraws it");
  assert.equal(r.disappearGlobal.missing, 0, "no LAN reaches it any more");
  assert.equal(r.disappearLocal.missing, 0, "the service under an aggregate is reached from nowhere once gone");
});

test("a simulated hierarchy: once both gateways of a region die, no caller routes to them, and every service still reachable is reached", () => {
  const f = first!.regionFailure;
  assert.ok(f.failoverMs >= 0, "calls settle within the limit");
  assert.equal(f.toDeadAfter, 0, "no call goes to a dead gateway after");
  assert.equal(f.missedAfter, 0, "every service with an instance on the caller's side is reached after");
});

test("a simulated hierarchy: the same seed gives the same figures", async () => {
  const again = await runHierarchy(SHAPE, 11, LIMITS);
  assert.equal(again.digest, first!.digest);
  const { wallMs: _a, ...one } = first!;
  const { wallMs: _b, ...two } = again;
  assert.deepEqual(two, one);
});
