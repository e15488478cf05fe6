/**
 * A gateway of the simulated hierarchy: one member in each of its two
 * clusters (real membership and catalog, see world.ts), and the real route
 * computation of src/route — a `RouteTable` per cluster (costs, paths,
 * loops, the hop limit; reworked only for the members that changed),
 * `aggregate` (patterns, BGP-like sets) and `routeLabelValue` (the
 * labels a gateway publishes, encoded again only for the services whose
 * routes changed) — run on every change of what its members
 * see, 50 ms after the first change of a burst, as `Gateway` does. What it
 * advertises goes into its member's catalog as a real gateway's does: the
 * route labels, and the services it forwards as services it serves.
 */
import type { Member } from "../../src/lookup/types.ts";
import { aggregate, type AggregateIndex, type AggregateSpec } from "../../src/route/aggregation.ts";
import { routeLabelValue, routesByService } from "../../src/route/route-labels.ts";
import type { Export } from "../../src/route/export.ts";
import { RouteTable } from "../../src/route/route-table.ts";
import { DEFAULT_MAX_HOPS } from "../../src/route/hops.ts";
import { isAggregate } from "../../src/route-rules/aggregate.ts";
import { GATEWAY_LABEL, ROUTE_LABEL_PREFIX } from "../../src/route-rules/route-label.ts";
import type { SimMember, World } from "./world.ts";

/** As the real gateway: routes are worked out once per burst of membership changes. */
const SYNC_DELAY_MS = 50;
/** The cost each gateway adds (the default). */
const HOP_COST = 1;

/** One simulated gateway: two members, the real route computation. */
export class SimGateway {
  readonly name: string;
  readonly clusters: readonly string[];
  readonly members = new Map<string, SimMember>();
  readonly own = new Set<string>();
  readonly maxHops = DEFAULT_MAX_HOPS;
  /** How each member forwards calls (routes and aggregates), as last worked out. */
  readonly indexes = new Map<string, AggregateIndex>();
  /** The services (and aggregates) it advertises into each cluster, and how many route-table entries (`service@version`) they take. */
  readonly advertised = new Map<string, { services: ReadonlySet<string>; entries: number }>();
  /** The routes it could advertise into each cluster, kept up to date change by change. */
  readonly #tables = new Map<string, RouteTable>();
  /** When the routes it advertises last changed (simulated ms). */
  changedAt = 0;
  crashed = false;
  readonly #world: World;
  readonly #specs: AggregateSpec[];
  /** What each member last published: labels, the services as `service@version` keys joined, and the routes they were made of. */
  readonly #published = new Map<string, { labels: Readonly<Record<string, string>>; services: string; advertised: ReadonlyMap<string, readonly Export[]> }>();
  #pending: (() => void) | undefined;

  constructor(world: World, name: string, clusters: [string, string], aggregatePattern: string | undefined) {
    this.#world = world;
    this.name = name;
    this.clusters = clusters;
    this.#specs = aggregatePattern === undefined ? [] : [{ services: aggregatePattern }];
    for (const cluster of clusters) {
      const member = world.add(name, cluster, [], { [GATEWAY_LABEL]: clusters.join(",") });
      member.gateway = name;
      this.members.set(cluster, member);
      this.own.add(member.id);
      this.advertised.set(cluster, { services: new Set(), entries: 0 });
    }
    for (const cluster of clusters) this.#tables.set(cluster, new RouteTable(cluster, this.own, HOP_COST, this.maxHops));
    for (const member of this.members.values()) {
      // News of its own members is what it just advertised: no cause to work routes out again.
      member.backend.on(({ member: subject }) => void (this.own.has(subject.record.id) || this.#schedule()));
    }
  }

  /** Entries of its route tables (both clusters): one per service version or aggregate it advertises. */
  get entries(): number {
    let sum = 0;
    for (const table of this.advertised.values()) sum += table.entries;
    return sum;
  }

  /** Whether it advertises a route to `service` into any cluster. */
  advertises(service: string): boolean {
    for (const table of this.advertised.values()) if (table.services.has(service)) return true;
    return false;
  }

  /** Stops it, as `kill -9`: both members. */
  crash(): void {
    this.crashed = true;
    this.#pending?.();
    for (const member of this.members.values()) this.#world.crash(member);
  }

  #schedule(): void {
    if (this.#pending !== undefined || this.crashed) return;
    this.#pending = this.#world.setTimer(SYNC_DELAY_MS, () => {
      this.#pending = undefined;
      this.sync();
    });
  }

  /** Works out the routes into each cluster and publishes those that changed. */
  sync(): void {
    if (this.crashed) return;
    const views = new Map<string, readonly Member[]>();
    for (const [cluster, member] of this.members) views.set(cluster, member.backend.members());
    for (const [cluster, member] of this.members) {
      const table = this.#tables.get(cluster)!;
      table.update(views);
      const { advertised, index } = aggregate(table.routes, this.#specs);
      this.indexes.set(cluster, index);
      const before = this.#published.get(cluster) ?? { labels: { [GATEWAY_LABEL]: this.clusters.join(",") }, services: "", advertised: new Map() };
      // As the real gateway: only the labels of services whose routes changed (lists the table replaced) are encoded again.
      const touched = new Set<string>();
      for (const [key, routes] of advertised) if (before.advertised.get(key) !== routes) touched.add(routes[0]!.service);
      for (const [key, routes] of before.advertised) if (!advertised.has(key)) touched.add(routes[0]!.service);
      if (touched.size === 0) continue;
      const labels = { ...before.labels };
      const byService = routesByService(advertised.values(), touched);
      let changed = false;
      for (const service of touched) if (label(labels, service, routeLabelValue(byService.get(service) ?? []).value)) changed = true;
      const names = new Set<string>();
      const services: Array<[string, string]> = [];
      for (const routes of advertised.values()) {
        const { service, version } = routes[0]!;
        names.add(service);
        if (!isAggregate(service)) services.push([service, version]);
      }
      services.sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1));
      this.advertised.set(cluster, { services: names, entries: advertised.size });
      const keys = services.map(([service, version]) => `${service}@${version}`).join(" ");
      this.#published.set(cluster, { labels, services: keys, advertised });
      if (!changed && before.services === keys) continue;
      this.changedAt = this.#world.now;
      // Labels and the services they stand for change in one catalog version.
      member.backend.update({ labels, services });
    }
  }
}

/** Sets (or, undefined, removes) the route label of `service` in `labels`; whether its value changed. */
function label(labels: Record<string, string>, service: string, value: string | undefined): boolean {
  const key = ROUTE_LABEL_PREFIX + service;
  if (labels[key] === value) return false;
  if (value === undefined) delete labels[key];
  else labels[key] = value;
  return true;
}
