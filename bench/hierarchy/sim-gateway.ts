/**
 * A gateway of the simulated hierarchy: one member in each of its two
 * clusters (real membership and catalog, see world.ts), and the real route
 * computation of src/route — `routesInto` (costs, paths, loops, the hop
 * limit), `aggregate` (patterns, BGP-like sets) and `routeLabelsOf` (the
 * labels a gateway publishes) — run on every change of what its members
 * see, 50 ms after the first change of a burst, as `Gateway` does. What it
 * advertises goes into its member's catalog as a real gateway's does: the
 * route labels, and the services it forwards as services it serves.
 */
import type { Member } from "../../src/lookup/types.ts";
import { aggregate, type AggregateIndex, type AggregateSpec } from "../../src/route/aggregation.ts";
import { routeLabelsOf } from "../../src/route/route-labels.ts";
import { routesInto } from "../../src/route/route-table.ts";
import { DEFAULT_MAX_HOPS } from "../../src/route/hops.ts";
import { isAggregate } from "../../src/route-rules/aggregate.ts";
import { GATEWAY_LABEL } from "../../src/route-rules/route-label.ts";
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
  /** When the routes it advertises last changed (simulated ms). */
  changedAt = 0;
  crashed = false;
  readonly #world: World;
  readonly #specs: AggregateSpec[];
  /** What each member last published: labels, and the services as `service@version` keys joined. */
  readonly #published = new Map<string, { labels: Readonly<Record<string, string>>; services: string }>();
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
      const { advertised, index } = aggregate(routesInto(cluster, views, this.own, HOP_COST, this.maxHops), this.#specs);
      this.indexes.set(cluster, index);
      const labels = { [GATEWAY_LABEL]: this.clusters.join(","), ...routeLabelsOf(advertised) };
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
      const before = this.#published.get(cluster);
      if (before && before.services === keys && sameLabels(before.labels, labels)) continue;
      this.#published.set(cluster, { labels, services: keys });
      this.changedAt = this.#world.now;
      // Labels and the services they stand for change in one catalog version.
      member.backend.update({ labels, services });
    }
  }
}

/** Whether two sets of labels hold the same keys and values. */
function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => a[key] === b[key]);
}
