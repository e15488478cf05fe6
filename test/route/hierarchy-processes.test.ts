// Many clusters of real processes, each service node, gateway and caller a process of its own.
//
// On this machine, eight clusters in a small hierarchy, 260 services:
//
//                               core (svc-core: 30)
//            gw-r1c-a, gw-r1c-b /               \ gw-r2c
//                     region-1                   region-2 (svc-r2: 30)
//          gw-1a /    gw-1b |    gw-1c \          gw-2a /      \ gw-2b
//      lan-1a          lan-1b          lan-1c      lan-2a        lan-2b
//  (caller, svc-1a)   (svc-1b)        (svc-1c)    (svc-2a)      (svc-2b)     40 services each
//
// The caller in lan-1a calls every service across 0, 2, 3 and 4 gateway hops,
// then loads them; gw-r1c-a, one of the two gateways between region-1 and
// core, is killed under load: no idempotent call fails.
//
// Across test hosts (network namespaces), two regions joined through core:
// east-lan ─gw-el─ east ─gw-ec─ core ─gw-wc─ west, east on one host and west
// on another. The hosts are cut apart and joined again: calls across fail
// with a typed error by their deadline (and at once once the routes are
// withdrawn), calls within east go on, and calls across succeed again soon
// after the heal.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { CALM, sleep, waitFor } from "../lookup/faults/harness.ts";
import { TestNetwork, unavailableReason } from "../lookup/faults/netns.ts";
import { requireOrSkip } from "../support/require.ts";
import { absolute, latency, showLatency, siteServices, spawnHierarchy, type CallRecord, type HierarchyChild, type HierarchyOptions, type LoadResult, type Target } from "./hierarchy-fixture.ts";

/**
 * Memberlist's LAN probe timing (a probe a second, 500 ms to answer) with the
 * fast preset's gossip and anti-entropy: sixteen processes under load on two
 * cores can miss the fast preset's 50 ms probe timeout, and a gateway declared
 * dead by mistake would fail calls that no fault caused.
 */
const MEMBERSHIP = CALM;
const LAN_SERVICES = 40;
const OTHER_SERVICES = 30;
/** Calls in flight, how long the load lasts, when the gateway is killed, each call's timeout. */
const LOAD = { concurrency: 16, durationMs: 8_000, killAtMs: 3_000, timeoutMs: 5_000 };

/** ms since the epoch, high resolution, as the caller's records count it. */
const now = (): number => performance.timeOrigin + performance.now();

/** A folder of its own for the local rendezvous, and a tag for cluster names: no other run meets these members. */
function isolated(t: TestContext): { env: NodeJS.ProcessEnv; tag: string } {
  const rendezvous = mkdtempSync(join(tmpdir(), "amoeba-route-hierarchy-"));
  t.after(() => rmSync(rendezvous, { recursive: true, force: true }));
  return { env: { ...process.env, AMOEBA_RENDEZVOUS_DIR: rendezvous }, tag: `${process.pid}-${Math.floor(Math.random() * 1e6)}` };
}

/** A site of the hierarchy: its services, and the way calls from lan-1a take to them. */
interface Site {
  site: string;
  services: number;
  hops: number;
  /** The gateways a call from lan-1a crosses, as `amoeba-via` says. */
  via: RegExp;
}

const LINK = "gw-r1c-(a|b)";
const SITES: Site[] = [
  { site: "lan-1a", services: LAN_SERVICES, hops: 0, via: /^$/ },
  { site: "lan-1b", services: LAN_SERVICES, hops: 2, via: /^gw-1a,gw-1b$/ },
  { site: "lan-1c", services: LAN_SERVICES, hops: 2, via: /^gw-1a,gw-1c$/ },
  { site: "core", services: OTHER_SERVICES, hops: 2, via: new RegExp(`^gw-1a,${LINK}$`) },
  { site: "region-2", services: OTHER_SERVICES, hops: 3, via: new RegExp(`^gw-1a,${LINK},gw-r2c$`) },
  { site: "lan-2a", services: LAN_SERVICES, hops: 4, via: new RegExp(`^gw-1a,${LINK},gw-r2c,gw-2a$`) },
  { site: "lan-2b", services: LAN_SERVICES, hops: 4, via: new RegExp(`^gw-1a,${LINK},gw-r2c,gw-2b$`) },
];

/** Every service of `sites`, interleaved (one of each site in turn), so that any stretch of a load crosses every way. */
function targetsOf(sites: readonly Site[]): Target[] {
  const lists = sites.map((s) => siteServices(s.site, s.services).map((service): Target => ({ service, where: s.site })));
  const out: Target[] = [];
  for (let i = 0; i < Math.max(...lists.map((l) => l.length)); i++) for (const list of lists) if (list[i]) out.push(list[i]!);
  return out;
}

/** The first few failures, for messages; with `since`, when each began from then. */
function failuresOf(records: ReadonlyArray<CallRecord & { at?: number }>, targets: readonly Target[], since?: { what: string; at: number }): string[] {
  return records
    .filter((r) => !r.ok)
    .slice(0, 10)
    .map((r) => `${targets[r.target]!.service}: ${r.code} ${r.message} (${r.ms.toFixed(0)} ms${since && r.at !== undefined ? `, begun ${(r.at - since.at).toFixed(0)} ms after ${since.what}` : ""})`);
}

test("8 clusters of real processes, 260 services: calls cross 2, 3 and 4 gateways, and killing one of two parallel gateways under load fails no idempotent call", { timeout: 120_000 }, async (t) => {
  const begin = performance.now();
  const { env, tag } = isolated(t);
  const cluster = (site: string): string => `${site}-${tag}`;
  const spawn = (options: HierarchyOptions) => spawnHierarchy(t, { ...options, membership: MEMBERSHIP }, env);
  const serviceNode = (s: Site) => spawn({ role: "service", name: `svc-${s.site.replace("region-", "r")}`, cluster: cluster(s.site), site: s.site, services: s.services });
  const gatewayOf = (name: string, sites: string[]) => spawn({ role: "gateway", name, join: Object.fromEntries(sites.map((s) => [cluster(s), {}])) });

  // Every process loads its code at once; they start in three waves, each seeded by the one before.
  const spawned = await Promise.all([
    Promise.all(SITES.map(serviceNode)),
    spawn({ role: "caller", name: "caller", cluster: cluster("lan-1a") }),
    gatewayOf("gw-r1c-a", ["region-1", "core"]),
    gatewayOf("gw-r1c-b", ["region-1", "core"]),
    gatewayOf("gw-r2c", ["region-2", "core"]),
    Promise.all(["1a", "1b", "1c"].map((lan) => gatewayOf(`gw-${lan}`, [`lan-${lan}`, "region-1"]))),
    Promise.all(["2a", "2b"].map((lan) => gatewayOf(`gw-${lan}`, [`lan-${lan}`, "region-2"]))),
  ]);
  const [serviceSpawns, callerSpawn, r1cA, r1cB, r2c, lans1, lans2] = spawned;
  const services = new Map<string, HierarchyChild>();
  await Promise.all(SITES.map(async (s, i) => services.set(s.site, await serviceSpawns[i]!.go())));
  const seed = (site: string): string[] => [services.get(site)!.seed(cluster(site))];
  const [caller, gwA] = await Promise.all([
    callerSpawn.go({ [cluster("lan-1a")]: seed("lan-1a") }),
    r1cA.go({ [cluster("core")]: seed("core") }),
    r2c.go({ [cluster("core")]: seed("core"), [cluster("region-2")]: seed("region-2") }),
    ...lans2.map((g, i) => g.go({ [cluster("region-2")]: seed("region-2"), [cluster(`lan-2${"ab"[i]}`)]: seed(`lan-2${"ab"[i]}`) })),
  ]);
  const region1 = [gwA!.seed(cluster("region-1"))];
  const [, gw1a] = await Promise.all([
    r1cB.go({ [cluster("core")]: seed("core"), [cluster("region-1")]: region1 }),
    ...lans1.map((g, i) => g.go({ [cluster("region-1")]: region1, [cluster(`lan-1${"abc"[i]}`)]: seed(`lan-1${"abc"[i]}`) })),
  ]);
  const processes = SITES.length + 1 + [r1cA, r1cB, r2c, ...lans1, ...lans2].length;
  const startedIn = performance.now() - begin;

  // Every route reaches lan-1a, and region-1 knows both gateways to core for every service beyond it.
  const all = targetsOf(SITES);
  const names = all.map((target) => target.service);
  const beyondLink = all.filter((target) => ["core", "region-2", "lan-2a", "lan-2b"].includes(target.where)).map((target) => target.service);
  await waitFor("the caller to know an instance of every service", async () => (await caller!.fewer(names)).length === 0, 45_000, {
    everyMs: 200,
    describe: async () => `missing ${(await caller!.fewer(names)).slice(0, 5).join(", ")}…`,
  });
  await waitFor("region-1 to know both gateways to core for every service beyond them", async () => (await gw1a!.fewer(beyondLink, 2, cluster("region-1"))).length === 0, 30_000, {
    everyMs: 200,
    describe: async () => `with one route or none: ${(await gw1a!.fewer(beyondLink, 2, cluster("region-1"))).slice(0, 5).join(", ")}…`,
  });
  const routedIn = performance.now() - begin;

  // Each service once: answered by its own site's node, across the gateways of the way to it.
  const once = await caller!.request<CallRecord[]>({ cmd: "callEach", targets: all, timeoutMs: 10_000, concurrency: 8 }, 60_000);
  assert.equal(once.length, all.length);
  assert.deepEqual(failuresOf(once, all), [], "every service answers from lan-1a");
  for (const record of once) {
    const target = all[record.target]!;
    const site = SITES.find((s) => s.site === target.where)!;
    assert.equal(record.node, services.get(site.site)!.name, `${target.service} is served in ${site.site}`);
    assert.equal(record.hops, site.hops, `${target.service}: ${site.hops} gateway hops from lan-1a`);
    assert.match(record.via!, site.via, `${target.service}: the way from lan-1a`);
  }

  // The load: every service but lan-1a's own, in turn, 16 calls in flight; gw-r1c-a killed during it.
  const loaded = targetsOf(SITES.filter((s) => s.hops > 0));
  const t0 = await caller!.request<number>({ cmd: "startLoad", targets: loaded, concurrency: LOAD.concurrency, durationMs: LOAD.durationMs, timeoutMs: LOAD.timeoutMs });
  await sleep(Math.max(0, t0 + LOAD.killAtMs - now()));
  const killedAt = now();
  await gwA!.kill();
  await waitFor(
    "region-1 to stop listing the killed gateway",
    async () => !(await gw1a!.lookup("core.svc-0", cluster("region-1"))).includes("gw-r1c-a"),
    20_000,
    { everyMs: 50 },
  );
  const withdrawnAt = now();
  const withdrawnAfter = withdrawnAt - killedAt;
  await sleep(Math.max(0, t0 + LOAD.durationMs - now()));
  const result = await caller!.request<LoadResult>({ cmd: "stopLoad" }, 30_000);
  const records = absolute(result);

  assert.deepEqual(failuresOf(records, loaded, { what: "the kill", at: killedAt }), [], "no idempotent call fails, not even those in flight at the kill");
  const through = (gateway: string) => (r: (typeof records)[number]) => r.via!.split(",").includes(gateway);
  const before = records.filter((r) => r.end < killedAt);
  const after = records.filter((r) => r.at > killedAt);
  assert.ok(before.filter(through("gw-r1c-a")).length > 0 && before.filter(through("gw-r1c-b")).length > 0, "both gateways between region-1 and core carried calls before the kill");
  assert.deepEqual(after.filter(through("gw-r1c-a")).map((r) => r.via), [], "no call made after the kill went through the killed gateway");
  assert.ok(after.filter(through("gw-r1c-b")).length > 0, "calls beyond region-1 went on through the other gateway");
  for (const s of SITES.filter((each) => each.hops > 0)) {
    const mine = records.filter((r) => loaded[r.target]!.where === s.site);
    assert.ok(mine.length > 0, `calls reached ${s.site}`);
    assert.ok(mine.every((r) => r.hops === s.hops && s.via.test(r.via!)), `every call to ${s.site} crossed ${s.hops} gateways`);
  }

  // The figures.
  const seconds = (result.records.at(-1)!.start + result.records.at(-1)!.ms) / 1_000;
  const inFlight = records.filter((r) => r.at <= killedAt && r.end > killedAt);
  const longest = inFlight.reduce((a, b) => (b.ms > a.ms ? b : a), inFlight[0]!);
  const firstThroughB = Math.min(...records.filter((r) => r.end > killedAt && through("gw-r1c-b")(r)).map((r) => r.end)) - killedAt;
  const lastInFlight = Math.max(...inFlight.map((r) => r.end)) - killedAt;
  const listedDead = records.filter((r) => r.at > killedAt && r.at < withdrawnAt);
  const rate = (list: readonly unknown[], ms: number) => (list.length / (ms / 1_000)).toFixed(0);
  const byHops = [2, 3, 4].map((hops) => `${hops} hops ${showLatency(latency(records.filter((r) => r.hops === hops)))}`).join("; ");
  console.log(
    `# 8 clusters, ${processes} processes, ${all.length} services: started in ${(startedIn / 1_000).toFixed(1)} s, every route known in lan-1a ${((routedIn - startedIn) / 1_000).toFixed(1)} s later`,
  );
  console.log(
    `# load from lan-1a (${LOAD.concurrency} calls in flight, ${seconds.toFixed(1)} s, ${loaded.length} services): ${records.length} calls, 0 failed, ` +
      `${rate(records, seconds * 1_000)} calls/s (${rate(before, killedAt - result.t0)} before the kill, ${rate(after, result.t0 + seconds * 1_000 - killedAt)} after); ` +
      `${showLatency(latency(records))}; ${byHops}`,
  );
  console.log(
    `# kill -9 of gw-r1c-a at +${((killedAt - result.t0) / 1_000).toFixed(1)} s: first answer through gw-r1c-b ${firstThroughB.toFixed(1)} ms after; ` +
      `${inFlight.length} calls in flight at the kill, the longest ${longest.ms.toFixed(0)} ms, all answered within ${lastInFlight.toFixed(0)} ms of the kill; ` +
      `region-1 stopped listing gw-r1c-a ${withdrawnAfter.toFixed(0)} ms after the kill; meanwhile ${listedDead.length} calls, ${showLatency(latency(listedDead))}`,
  );
});

const reason = unavailableReason();
/**
 * Each call's timeout across the test hosts, and how long a call may end past it on a loaded machine;
 * calls in flight within east and across, each; the pause after each call (a steady load that leaves
 * the gossip of six processes on two cores its time).
 */
const ACROSS = { timeoutMs: 1_000, slackMs: 1_000, concurrency: 4, pauseMs: 1, services: 20 };

test("across test hosts: a partition between two regions fails calls across with a typed error by their deadline, calls within a region go on, and calls across succeed again after the heal", { timeout: 120_000 }, async (t) => {
  if (!requireOrSkip(t, reason === null, `the partition between regions needs network namespaces: ${reason}`)) return;
  const begin = performance.now();
  const { env, tag } = isolated(t);
  const net = new TestNetwork(t, ["east", "west"]);
  const cluster = (name: string): string => `${name}-${tag}`;
  const on = (host: string) => ({ listen: `tcp://${net.host(host).ip}:0`, gossip: `udp://${net.host(host).ip}:0` });
  const spawn = (host: string, options: HierarchyOptions) => spawnHierarchy(t, { ...options, membership: MEMBERSHIP }, env, net.host(host).exec);
  const gatewayOn = (host: string, name: string, clusters: string[]) =>
    spawn(host, { role: "gateway", name, join: Object.fromEntries(clusters.map((c) => [cluster(c), on(host)])) });

  const [svcEastSpawn, svcWestSpawn, callerSpawn, gwElSpawn, gwEcSpawn, gwWcSpawn] = await Promise.all([
    spawn("east", { role: "service", name: "svc-east", cluster: cluster("east"), site: "east", services: ACROSS.services, ...on("east") }),
    spawn("west", { role: "service", name: "svc-west", cluster: cluster("west"), site: "west", services: ACROSS.services, ...on("west") }),
    spawn("east", { role: "caller", name: "caller", cluster: cluster("east-lan"), ...on("east") }),
    gatewayOn("east", "gw-el", ["east-lan", "east"]),
    gatewayOn("east", "gw-ec", ["east", "core"]),
    gatewayOn("west", "gw-wc", ["core", "west"]),
  ]);
  const [svcEast, svcWest] = await Promise.all([svcEastSpawn.go(), svcWestSpawn.go()]);
  const [caller, gwEc] = await Promise.all([callerSpawn.go(), gwEcSpawn.go({ [cluster("east")]: [svcEast.seed(cluster("east"))] })]);
  await Promise.all([
    gwElSpawn.go({ [cluster("east-lan")]: [caller.seed(cluster("east-lan"))], [cluster("east")]: [svcEast.seed(cluster("east"))] }),
    gwWcSpawn.go({ [cluster("core")]: [gwEc.seed(cluster("core"))], [cluster("west")]: [svcWest.seed(cluster("west"))] }),
  ]);
  const startedIn = performance.now() - begin;

  const sites: Site[] = [
    { site: "east", services: ACROSS.services, hops: 1, via: /^gw-el$/ },
    { site: "west", services: ACROSS.services, hops: 3, via: /^gw-el,gw-ec,gw-wc$/ },
  ];
  const targets = targetsOf(sites);
  const west = siteServices("west", ACROSS.services);
  await waitFor("the caller to know an instance of every service", async () => (await caller.fewer(targets.map((each) => each.service))).length === 0, 45_000, { everyMs: 200 });
  const once = await caller.request<CallRecord[]>({ cmd: "callEach", targets, timeoutMs: 10_000, concurrency: 8 }, 60_000);
  assert.deepEqual(failuresOf(once, targets), [], "every service answers from east-lan before the cut");
  for (const record of once) {
    const site = sites.find((s) => s.site === targets[record.target]!.where)!;
    assert.equal(record.hops, site.hops, `${targets[record.target]!.service}: ${site.hops} gateway hops from east-lan`);
    assert.match(record.via!, site.via);
  }
  const routedIn = performance.now() - begin;

  // A load within east and one across to west, each with calls in flight of its own: before the cut, during it, after the heal.
  await caller.request<number>({ cmd: "startLoad", targets, concurrency: ACROSS.concurrency, durationMs: 60_000, timeoutMs: ACROSS.timeoutMs, pauseMs: ACROSS.pauseMs, pauseAfterFailureMs: 20, apart: true });
  await sleep(1_500);
  let cutAt = 0;
  let withdrawnAt = 0;
  let healAt = 0;
  let backAt = 0;
  let result: LoadResult;
  try {
    net.partition(["east"], ["west"]);
    cutAt = now();
    await waitFor("east-lan to lose every route to west", async () => (await caller.fewer(west)).length === west.length, 20_000, { everyMs: 50 });
    withdrawnAt = now();
    // Calls across go on while there is no route (at least a second of them, and 40 calls).
    const madeAcross = (since: number) => caller.request<number>({ cmd: "count", since, where: "west" });
    await sleep(1_000);
    await waitFor("calls across to be made while there is no route", async () => (await madeAcross(withdrawnAt)) >= 40, 10_000, { everyMs: 50 });
    // The cut counts from when its rules are in, the heal from before they go: every figure errs long.
    healAt = now();
    net.heal();
    await waitFor("east-lan to have a route to every service of west again", async () => (await caller.fewer(west)).length === 0, 10_000, { everyMs: 50 });
    backAt = now();
    await sleep(2_000);
    await waitFor("calls across to be made after the heal", async () => (await madeAcross(backAt + 1_000)) >= 40, 10_000, { everyMs: 50 });
  } finally {
    net.heal();
    result = await caller.request<LoadResult>({ cmd: "stopLoad" }, 30_000);
  }
  const records = absolute(result);
  const across = records.filter((r) => targets[r.target]!.where === "west");
  const within = records.filter((r) => targets[r.target]!.where === "east");

  assert.deepEqual(failuresOf(within, targets, { what: "the cut", at: cutAt }), [], "calls within east go on through the partition");
  assert.deepEqual(failuresOf(across.filter((r) => r.end < cutAt), targets, { what: "the cut", at: cutAt }), [], "calls across succeed before the cut");
  const duringCut = across.filter((r) => r.end > cutAt && r.at < healAt);
  const failedDuringCut = duringCut.filter((r) => !r.ok);
  assert.ok(failedDuringCut.length > 0, "calls across failed while the regions were cut apart");
  assert.deepEqual(
    failedDuringCut
      .filter((r) => !["DEADLINE_EXCEEDED", "UNAVAILABLE"].includes(r.code!) || r.ms > ACROSS.timeoutMs + ACROSS.slackMs)
      .map((r) => `${r.code} ${r.message} (${r.ms.toFixed(0)} ms, begun ${(r.at - cutAt).toFixed(0)} ms after the cut)`),
    [],
    `every call across that failed during the cut failed with a typed error by its deadline (${ACROSS.timeoutMs} ms)`,
  );
  const noRoute = across.filter((r) => r.at > withdrawnAt && r.at < healAt);
  assert.ok(noRoute.length > 0, "calls across were made while east-lan had no route to west");
  assert.deepEqual(
    noRoute
      .filter((r) => r.ok || r.code !== "UNAVAILABLE" || r.ms > ACROSS.timeoutMs / 2)
      .map((r) => `${r.ok ? "answered" : `${r.code} ${r.message}`} (${r.ms.toFixed(0)} ms, begun ${(r.at - withdrawnAt).toFixed(0)} ms after the withdrawal)`),
    [],
    "with no route, calls across fail at once with UNAVAILABLE",
  );
  const healed = across.filter((r) => r.at > backAt + 1_000);
  assert.ok(healed.length > 0, "calls across were made after the heal");
  assert.deepEqual(failuresOf(healed, targets, { what: "the heal", at: healAt }), [], "calls across succeed again after the heal");

  const firstAnswered = Math.min(...across.filter((r) => r.ok && r.at > healAt).map((r) => r.end)) - healAt;
  assert.ok(firstAnswered < 10_000, `a call across is answered within 10 s of the heal (${firstAnswered.toFixed(0)} ms)`);
  const inFlight = across.filter((r) => r.at <= cutAt && r.end > cutAt);
  const withinCut = within.filter((r) => r.at > cutAt && r.at < healAt);
  const withinBefore = within.filter((r) => r.end < cutAt);
  const deadlined = failedDuringCut.filter((r) => r.code === "DEADLINE_EXCEEDED");
  const seconds = (records.at(-1)!.end - result.t0) / 1_000;
  console.log(
    `# 2 test hosts, 4 clusters, 6 processes, ${targets.length} services: started in ${(startedIn / 1_000).toFixed(1)} s, every route known ${((routedIn - startedIn) / 1_000).toFixed(1)} s later; ` +
      `load from east-lan: ${ACROSS.concurrency} calls in flight within east and ${ACROSS.concurrency} across, ${seconds.toFixed(1)} s, ${records.length} calls (deadline ${ACROSS.timeoutMs} ms)`,
  );
  console.log(
    `# cut between east and west: ${inFlight.length} calls across in flight, ${failedDuringCut.length} calls across failed during the cut ` +
      `(${deadlined.length} DEADLINE_EXCEEDED after at most ${Math.max(0, ...deadlined.map((r) => r.ms)).toFixed(0)} ms, ${failedDuringCut.length - deadlined.length} UNAVAILABLE); ` +
      `routes across withdrawn from east-lan ${(withdrawnAt - cutAt).toFixed(0)} ms after the cut, then ${noRoute.length} calls across failed in ${showLatency(latency(noRoute))}; ` +
      `within east ${(withinCut.length / ((healAt - cutAt) / 1_000)).toFixed(0)} calls/s during the cut (${(withinBefore.length / ((cutAt - result.t0) / 1_000)).toFixed(0)} before), 0 failed, ${showLatency(latency(withinCut))}`,
  );
  console.log(
    `# heal: routes across back in east-lan ${(backAt - healAt).toFixed(0)} ms after the heal, first call across answered ${firstAnswered.toFixed(0)} ms after it; ` +
      `${healed.length} calls across after, 0 failed, ${showLatency(latency(healed))}`,
  );
});
