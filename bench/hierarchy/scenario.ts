/**
 * The hierarchy's run: build it, let it form, measure a steady window, a
 * service that appears and disappears (one under an aggregate, one global),
 * and both gateways of one region dying. Times are simulated; the same seed
 * gives the same figures (and the same digest).
 */
import { createHash } from "node:crypto";
import { seededRandom } from "../../src/lookup/membership/index.ts";
import { SimGateway } from "./sim-gateway.ts";
import { buildTopology, clusterCount, distance, inRegion, type Shape } from "./topology.ts";
import { walk, type Outcome } from "./walk.ts";
import { World, type SimMember } from "./world.ts";

/** Nearest-rank median and maximum, and how many never got there. */
export interface Spread {
  p50: number;
  max: number;
  missing: number;
}

/** What one run measured (simulated ms and bytes). */
export interface HierarchyResult {
  seed: number;
  shape: Shape;
  clusters: number;
  gateways: number;
  members: number;
  formedMs: number;
  /** Route-table entries per gateway (its two members' together). */
  entries: { p50: number; max: number };
  /** Bytes each gateway sent per second (gossip and catalog pages), steady and while a global service appeared. */
  bytes: { steady: { p50: number; max: number }; change: { p50: number; max: number } };
  /** Caller and service pairs checked after forming: reached, reached at a nearest instance; global services apart. */
  reach: { pairs: number; reached: number; nearest: number; globalPairs: number; globalReached: number; globalNearest: number; loops: number; overHops: number; maxHops: number };
  /** Every service from a node of each cluster without service nodes (core, regions, sites); 0 pairs when too many to check. */
  fromOthers: { pairs: number; reached: number };
  /** Until each LAN's caller reaches a new service (or no longer reaches it). */
  appearLocal: Spread;
  disappearLocal: Spread;
  appearGlobal: Spread;
  disappearGlobal: Spread;
  /** Until each gateway advertises the new global service (or no longer does). */
  appearGlobalGateways: Spread;
  disappearGlobalGateways: Spread;
  /** Both gateways between a region and the core killed. */
  regionFailure: { region: string; failoverMs: number; calls: number; lost: number; noRoute: number; deadNode: number; toDeadAfter: number; missedAfter: number };
  wallMs: number;
  digest: string;
}

/** Limits of the run, simulated ms. */
export interface RunLimits {
  formMs: number;
  steadyMs: number;
  phaseMs: number;
  /** Caller and service pairs checked for reach (all when they are fewer). */
  pairs: number;
}

const VERSION = "1.0.0";

function rank(values: readonly number[]): { p50: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: sorted[Math.max(0, Math.ceil(sorted.length / 2) - 1)] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN };
}

function spread(times: ReadonlyMap<string, number>, total: number): Spread {
  return { ...rank([...times.values()]), missing: total - times.size };
}

/** All pairs of `lans` × `services`, or `limit` of them drawn from `random`. */
function pairsOf(lans: readonly string[], services: readonly string[], limit: number, random: () => number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (lans.length * services.length <= limit) for (const lan of lans) for (const service of services) out.push([lan, service]);
  else for (let i = 0; i < limit; i++) out.push([lans[Math.floor(random() * lans.length)]!, services[Math.floor(random() * services.length)]!]);
  return out;
}

/** Runs the whole scenario. `progress` hears a line at the end of each phase. */
export async function runHierarchy(shape: Shape, seed: number, limits: RunLimits, progress: (line: string) => void = () => {}): Promise<HierarchyResult> {
  const wall0 = performance.now();
  const topology = buildTopology(shape, seed);
  const world = new World(seed);
  const random = seededRandom(seed ^ 0xca11);
  const gateways = new Map<string, SimGateway>();
  const callers = new Map<string, SimMember>();
  const nodes = new Map<string, SimMember[]>();
  const lans = topology.lans;
  const servedBy = (lan: string, n: number): Array<[string, string]> => [
    ...topology.local.get(lan)!.map((service): [string, string] => [service, VERSION]),
    ...(n === 0 ? [...topology.globals].filter(([, homes]) => homes.includes(lan)).map(([service]): [string, string] => [service, VERSION]) : []),
  ];
  for (const lan of lans) {
    const list: SimMember[] = [];
    for (let n = 0; n < shape.nodesPerLan; n++) list.push(world.add(`node${n}`, lan, servedBy(lan, n), {}));
    nodes.set(lan, list);
    callers.set(lan, list[0]!);
  }
  for (const link of topology.links) for (const name of link.gateways) gateways.set(name, new SimGateway(world, name, [link.upper, link.lower], link.aggregate));
  const walkWorld = { members: world.members, gateways };
  const call = (lan: string, service: string): Outcome => walk(walkWorld, callers.get(lan)!, service, random);
  const note = (what: string): void => progress(`${what} (sim ${(world.now / 1000).toFixed(1)} s, wall ${((performance.now() - wall0) / 1000).toFixed(0)} s)`);
  note(`${clusterCount(shape)} clusters, ${gateways.size} gateways, ${world.members.size} members started`);

  const services = [...[...topology.local.values()].flat(), ...topology.globals.keys()];
  const pairs = pairsOf(lans, services, limits.pairs, random);
  const globalPairs = pairsOf(lans, [...topology.globals.keys()], limits.pairs, random);
  const homeOf = (service: string): string[] => topology.globals.get(service) ?? [lans.find((lan) => service.startsWith(`${topology.clusters.get(lan)!.prefix}.`))!];

  // ---- forming: every sampled pair reaches its service, checked every simulated second.
  let lastCheck = 0;
  // A long start says how far it got every 30 s of wall time (a line only, no figure depends on it).
  let lastNote = performance.now();
  const tell = (): void => {
    if (performance.now() - lastNote < 30_000) return;
    lastNote = performance.now();
    note(`forming, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB`);
  };
  const formedMs = await world.run(() => world.now - lastCheck >= 1_000 && ((lastCheck = world.now), pairs.every(([lan, service]) => call(lan, service).ok)), limits.formMs, 20, tell);
  note(`formed: ${formedMs < 0 ? "NOT within the limit" : `${(formedMs / 1000).toFixed(1)} s`}`);
  // Let the last catalogs and route changes settle: no gateway changed its routes for 3 s.
  await world.run(() => [...gateways.values()].every((gateway) => world.now - gateway.changedAt >= 3_000), limits.phaseMs, 50);

  // ---- steady window
  const gatewayBytes = (seconds: number): number[] =>
    [...gateways.values()].map(
      (gateway) => [...gateway.members.values()].reduce((sum, member) => sum + (world.meter.gossip.get(member.gossip) ?? 0) + (world.meter.catalog.get(member.gossip) ?? 0), 0) / Math.max(seconds, 0.001),
    );
  world.meter = { gossip: new Map(), catalog: new Map() };
  const steadyStart = world.now;
  await world.run(() => world.now - steadyStart >= limits.steadyMs, limits.steadyMs + 1_000, 50);
  const steadyBytes = gatewayBytes((world.now - steadyStart) / 1000);
  const entries = rank([...gateways.values()].map((gateway) => gateway.entries));

  // ---- reach, loops, hops, and the nearest instance
  const reach = { pairs: pairs.length, reached: 0, nearest: 0, globalPairs: globalPairs.length, globalReached: 0, globalNearest: 0, loops: 0, overHops: 0, maxHops: 0 };
  for (const [list, global] of [[pairs, false], [globalPairs, true]] as const) {
    for (const [lan, service] of list) {
      const outcome = call(lan, service);
      if (!outcome.ok) {
        if (outcome.reason === "loop") reach.loops++;
        if (outcome.reason === "hop limit") reach.overHops++;
        continue;
      }
      reach.maxHops = Math.max(reach.maxHops, outcome.hops);
      if (new Set(outcome.way).size !== outcome.way.length) reach.loops++;
      const best = Math.min(...homeOf(service).map((home) => distance(topology, lan, home)));
      const nearest = distance(topology, lan, outcome.cluster) === best && outcome.hops === best;
      if (global) {
        reach.globalReached++;
        if (nearest) reach.globalNearest++;
      } else {
        reach.reached++;
        if (nearest) reach.nearest++;
      }
    }
  }
  // From the clusters with no service node too (core, regions, sites), through a gateway's member there, when all pairs are few enough.
  const others = [...topology.clusters.keys()].filter((cluster) => !callers.has(cluster));
  const fromOthers = { pairs: 0, reached: 0 };
  if (others.length * services.length <= limits.pairs) {
    for (const cluster of others) {
      const member = [...world.members.values()].find((each) => each.cluster === cluster)!;
      for (const service of services) {
        fromOthers.pairs++;
        if (walk(walkWorld, member, service, random).ok) fromOthers.reached++;
      }
    }
  }
  note(`steady: ${reach.reached}/${reach.pairs} pairs reached, ${reach.nearest} the nearest; global ${reach.globalNearest}/${reach.globalPairs} the nearest`);

  // ---- a service appears, then disappears: per LAN, until its caller's outcome is as expected
  let current = "";
  const byLan = async (done: (outcome: Outcome) => boolean, extra?: () => boolean): Promise<Map<string, number>> => {
    const times = new Map<string, number>();
    const start = world.now;
    let last = -Infinity;
    let extraDone = extra === undefined;
    await world.run(
      () => times.size === lans.length && extraDone,
      limits.phaseMs,
      10,
      () => {
        if (extra && !extraDone) extraDone = extra();
        if (world.now - last < 50) return;
        last = world.now;
        for (const lan of lans) if (!times.has(lan) && done(call(lan, current))) times.set(lan, world.now - start);
      },
    );
    return times;
  };
  const serving = (member: SimMember, extra: Array<[string, string]>): void => member.backend.update({ services: [...servedBy(member.cluster, 0), ...extra] });
  const anyLan = (): string => lans[Math.floor(random() * lans.length)]!;

  const home = nodes.get(anyLan())![0]!;
  current = `${topology.clusters.get(home.cluster)!.prefix}.fresh`;
  serving(home, [[current, VERSION]]);
  const appearLocal = spread(await byLan((outcome) => outcome.ok && outcome.node === home.name && outcome.cluster === home.cluster), lans.length);
  serving(home, []);
  const disappearLocal = spread(await byLan((outcome) => !outcome.ok), lans.length);
  note(`service under an aggregate reached everywhere after ${appearLocal.max} ms, gone after ${disappearLocal.max} ms`);

  const globalHome = nodes.get(anyLan())![0]!;
  current = "global.fresh";
  const gatewayTimes = new Map<string, number>();
  const watchGateways = (want: boolean): (() => boolean) => {
    gatewayTimes.clear();
    const start = world.now;
    return () => {
      for (const gateway of gateways.values()) if (!gatewayTimes.has(gateway.name) && gateway.advertises(current) === want) gatewayTimes.set(gateway.name, world.now - start);
      return gatewayTimes.size === gateways.size;
    };
  };
  world.meter = { gossip: new Map(), catalog: new Map() };
  const changeStart = world.now;
  serving(globalHome, [[current, VERSION]]);
  const appearGlobal = spread(await byLan((outcome) => outcome.ok && outcome.cluster === globalHome.cluster, watchGateways(true)), lans.length);
  const appearGlobalGateways = spread(gatewayTimes, gateways.size);
  const changeBytes = gatewayBytes((world.now - changeStart) / 1000);
  serving(globalHome, []);
  const disappearGlobal = spread(await byLan((outcome) => !outcome.ok, watchGateways(false)), lans.length);
  const disappearGlobalGateways = spread(gatewayTimes, gateways.size);
  note(`global service advertised by every gateway after ${appearGlobalGateways.max} ms, withdrawn after ${disappearGlobalGateways.max} ms`);

  // ---- both gateways between one region and the core die
  const region = `r${1 + Math.floor(random() * shape.regions)}`;
  const dead = topology.links.find((link) => link.lower === region)!.gateways.map((name) => gateways.get(name)!);
  const failure = { region, failoverMs: -1, calls: 0, lost: 0, noRoute: 0, deadNode: 0, toDeadAfter: 0, missedAfter: 0 };
  // Whether a caller in `lan` can still reach an instance of `service`: one on its side of the cut.
  const reachable = (lan: string, service: string): boolean => homeOf(service).some((at) => inRegion(topology, at, region) === inRegion(topology, lan, region));
  const failStart = world.now;
  for (const gateway of dead) gateway.crash();
  let settledAt = -1;
  let lastRound = -Infinity;
  await world.run(
    () => settledAt >= 0,
    limits.phaseMs,
    10,
    () => {
      if (world.now - lastRound < 100) return;
      lastRound = world.now;
      // A round of calls over a sample of the pairs, every 100 ms: lost when a service still reachable is not reached.
      let settled = true;
      for (let i = 0; i < Math.min(200, pairs.length); i++) {
        const [lan, service] = pairs[Math.floor(random() * pairs.length)]!;
        const outcome = call(lan, service);
        failure.calls++;
        if (!outcome.ok && outcome.reason === "dead node") {
          failure.deadNode++;
          settled = false;
        }
        if (reachable(lan, service) && !outcome.ok) {
          failure.lost++;
          if (outcome.reason !== "dead node") failure.noRoute++;
          settled = false;
        }
      }
      if (settled) settledAt = world.now;
    },
  );
  // Then over every pair, once: no call goes to a dead gateway, every service still reachable is reached.
  for (const [lan, service] of pairs) {
    const outcome = call(lan, service);
    if (!outcome.ok && outcome.reason === "dead node") failure.toDeadAfter++;
    if (!outcome.ok && reachable(lan, service)) failure.missedAfter++;
  }
  failure.failoverMs = settledAt < 0 ? -1 : settledAt - failStart;
  note(`both gateways of ${region} killed: callers settled after ${failure.failoverMs} ms, ${failure.lost} of ${failure.calls} calls lost`);

  const result: Omit<HierarchyResult, "digest" | "wallMs"> = {
    seed,
    shape,
    clusters: clusterCount(shape),
    gateways: gateways.size,
    members: world.members.size,
    formedMs,
    entries,
    bytes: { steady: rank(steadyBytes), change: rank(changeBytes) },
    reach,
    fromOthers,
    appearLocal,
    disappearLocal,
    appearGlobal,
    disappearGlobal,
    appearGlobalGateways,
    disappearGlobalGateways,
    regionFailure: failure,
  };
  const digest = createHash("sha256").update(JSON.stringify([result, world.net.stats])).digest("hex").slice(0, 16);
  // Nothing of the world is referenced past here; its timers only run when its clock is advanced.
  for (const member of world.members.values()) if (!member.crashed) void member.backend.stop().catch(() => {});
  return { ...result, wallMs: performance.now() - wall0, digest };
}
