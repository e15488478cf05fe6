/**
 * The shape of the simulated hierarchy: one core, regions under it, sites
 * under each region, LANs under each site; two gateways on every link
 * between a cluster and the one above; services named after the LAN that
 * serves them (`r3.s4.l7.svc12`), so that each gateway can aggregate
 * everything below it under one pattern (`r3.s4.*`), and a few services
 * served in one LAN of every region (`global.svc7`), which no aggregate
 * covers: they travel as routes of their own, and callers should reach the
 * nearest copy. Pure: no simulation here.
 */
import { seededRandom } from "../../src/lookup/membership/index.ts";

/** How big the hierarchy is. */
export interface Shape {
  regions: number;
  sitesPerRegion: number;
  lansPerSite: number;
  /** Service nodes in each LAN; every one serves all of its LAN's services. */
  nodesPerLan: number;
  /** Services in all, globals included. */
  services: number;
  /** Services served in one LAN of every region (`global.svcN`). */
  globals: number;
  /** Whether gateways aggregate what lies below them. */
  aggregate: boolean;
}

/** One cluster of the tree. */
export interface ClusterSpec {
  /** `core`, `r3`, `r3-s4`, `r3-s4-l7`. */
  name: string;
  /** 0 core, 1 region, 2 site, 3 LAN. */
  level: number;
  parent: string | undefined;
  /** The prefix of the names of the services below it: `r3.s4`; empty for the core. */
  prefix: string;
  /** The region it lies in (itself for a region), undefined for the core. */
  region: string | undefined;
}

/** A link between a cluster and the one above it, with its two gateways. */
export interface LinkSpec {
  upper: string;
  lower: string;
  gateways: [string, string];
  /** What its gateways aggregate: every service below the lower cluster. */
  aggregate: string | undefined;
}

/** The hierarchy: clusters, links, and which LAN serves what. */
export interface Topology {
  shape: Shape;
  clusters: Map<string, ClusterSpec>;
  links: LinkSpec[];
  lans: string[];
  /** Services of each LAN's own (under its prefix). */
  local: Map<string, string[]>;
  /** Each global service and the LANs (one per region) that serve it. */
  globals: Map<string, string[]>;
}

/** Builds the tree; the LANs that serve each global service are drawn from `seed`. */
export function buildTopology(shape: Shape, seed: number): Topology {
  const clusters = new Map<string, ClusterSpec>();
  const links: LinkSpec[] = [];
  const add = (spec: ClusterSpec): void => {
    clusters.set(spec.name, spec);
    if (spec.parent === undefined) return;
    links.push({ upper: spec.parent, lower: spec.name, gateways: [`gw-${spec.name}-a`, `gw-${spec.name}-b`], aggregate: shape.aggregate ? `${spec.prefix}.*` : undefined });
  };
  add({ name: "core", level: 0, parent: undefined, prefix: "", region: undefined });
  const lans: string[] = [];
  const lansByRegion = new Map<string, string[]>();
  for (let r = 1; r <= shape.regions; r++) {
    const region = `r${r}`;
    add({ name: region, level: 1, parent: "core", prefix: region, region });
    lansByRegion.set(region, []);
    for (let s = 1; s <= shape.sitesPerRegion; s++) {
      const site = `${region}-s${s}`;
      add({ name: site, level: 2, parent: region, prefix: `${region}.s${s}`, region });
      for (let l = 1; l <= shape.lansPerSite; l++) {
        const lan = `${site}-l${l}`;
        add({ name: lan, level: 3, parent: site, prefix: `${region}.s${s}.l${l}`, region });
        lans.push(lan);
        lansByRegion.get(region)!.push(lan);
      }
    }
  }
  const local = new Map<string, string[]>(lans.map((lan) => [lan, []]));
  const locals = shape.services - shape.globals;
  for (let i = 0; i < locals; i++) {
    const lan = lans[i % lans.length]!;
    local.get(lan)!.push(`${clusters.get(lan)!.prefix}.svc${Math.floor(i / lans.length)}`);
  }
  const random = seededRandom(seed ^ 0x6a1ab);
  const globals = new Map<string, string[]>();
  for (let g = 0; g < shape.globals; g++) {
    globals.set(
      `global.svc${g}`,
      [...lansByRegion.values()].map((inRegion) => inRegion[Math.floor(random() * inRegion.length)]!),
    );
  }
  return { shape, clusters, links, lans, local, globals };
}

/** The clusters from the core down to `name`. */
function lineage(topology: Topology, name: string): string[] {
  const out: string[] = [];
  for (let at: string | undefined = name; at !== undefined && out.length < 8; at = topology.clusters.get(at)?.parent) out.unshift(at);
  return out;
}

/** Gateways a call crosses between clusters `a` and `b` on the tree (its links). */
export function distance(topology: Topology, a: string, b: string): number {
  const up = lineage(topology, a);
  const down = lineage(topology, b);
  let common = 0;
  while (common < up.length && common < down.length && up[common] === down[common]) common++;
  return up.length - common + (down.length - common);
}

/** Whether cluster `name` lies in region `region` (the region itself included). */
export function inRegion(topology: Topology, name: string, region: string): boolean {
  return topology.clusters.get(name)?.region === region;
}

/** Clusters in all. */
export function clusterCount(shape: Shape): number {
  return 1 + shape.regions * (1 + shape.sitesPerRegion * (1 + shape.lansPerSite));
}
