import { satisfies } from "../rpc/version.ts";
import { AGGREGATE_VERSION, covers, isAggregate, within } from "../route-rules/aggregate.ts";
import { compareRoutes, type Export } from "./export.ts";

/** One aggregate a gateway advertises: the services of a pattern, from any cluster behind it or only from one. */
export interface AggregateSpec {
  /** `shop.*` (every service whose name starts with `shop.`) or `*` (every service). */
  readonly services: string;
  /** Only services served in this cluster (the last of a route's path) count; default: any. */
  readonly cluster?: string;
}

/** Where a gateway's member in one cluster forwards the calls it takes under the aggregates it advertises there. */
export interface AggregateIndex {
  /** The patterns it advertises into that cluster (its own and those it passes on), longest first. */
  readonly patterns: readonly string[];
  /** Whether calls of `service` are taken under an advertised aggregate. */
  covers(service: string): boolean;
  /**
   * The routes to `service` within `range` (null: any), cheapest first: its
   * own routes, else those of the longest aggregate learned from another
   * gateway that covers it; undefined when nothing behind the gateway offers it.
   */
  routesTo(service: string, range: string | null): readonly Export[] | undefined;
}

/** The routes a gateway advertises into one cluster, aggregates applied, and how it forwards what its aggregates take. */
export interface Aggregated {
  readonly advertised: Map<string, readonly Export[]>;
  readonly index: AggregateIndex;
}

/**
 * Applies a gateway's aggregates to the routes it could advertise into one
 * cluster (`all`, by `service@version`, as a gateway's `RouteTable` gives them).
 * An aggregate is advertised only while a route it covers exists; it then
 * replaces every route it covers whole (a service version with a route it
 * does not cover stays advertised as it is), and other gateways' aggregates
 * within it. Per cluster that serves a covered service, the aggregate has
 * one route: the cheapest covered one's cost, and a path listing every
 * cluster the covered routes to it cross (as BGP's AS_SET), the serving one
 * last — so that no gateway passes it on into any of them.
 */
export function aggregate(all: ReadonlyMap<string, readonly Export[]>, specs: readonly AggregateSpec[]): Aggregated {
  const advertised = new Map(all);
  const patterns = new Set<string>();
  const own = new Map<string, AggregateSpec[]>();
  for (const spec of specs) own.set(spec.services, [...(own.get(spec.services) ?? []), spec]);
  for (const [pattern, mine] of own) {
    const counts = (route: Export): boolean => mine.some((spec) => spec.cluster === undefined || route.path.at(-1) === spec.cluster);
    const covered: Export[] = [];
    const replaced: string[] = [];
    for (const [key, routes] of all) {
      const service = routes[0]!.service;
      if (!(isAggregate(service) ? within(service, pattern) : covers(pattern, service))) continue;
      // Another gateway's aggregate of the same pattern is taken whole: the two are one entry.
      const counted = service === pattern ? routes : routes.filter(counts);
      covered.push(...counted);
      if (counted.length === routes.length) replaced.push(key);
    }
    if (covered.length === 0) continue;
    for (const key of replaced) advertised.delete(key);
    advertised.set(`${pattern}@${AGGREGATE_VERSION}`, merged(pattern, covered));
  }
  for (const routes of advertised.values()) if (isAggregate(routes[0]!.service)) patterns.add(routes[0]!.service);
  return { advertised, index: indexOf(all, [...patterns].sort((a, b) => b.length - a.length)) };
}

/** One route per serving cluster: the cheapest covered one's, its path widened by every cluster the others to that cluster cross. */
function merged(pattern: string, covered: readonly Export[]): Export[] {
  const byDestination = new Map<string, Export[]>();
  for (const route of covered) {
    const destination = route.path.at(-1)!;
    byDestination.set(destination, [...(byDestination.get(destination) ?? []), route]);
  }
  const out: Export[] = [];
  for (const [destination, routes] of byDestination) {
    routes.sort(compareRoutes);
    const best = routes[0]!;
    const crossed = new Set(best.path.slice(0, -1));
    for (const route of routes) for (const cluster of route.path.slice(0, -1)) crossed.add(cluster);
    crossed.delete(destination);
    out.push({ service: pattern, version: AGGREGATE_VERSION, cost: best.cost, path: [...crossed, destination], via: best.via });
  }
  return out.sort(compareRoutes);
}

function indexOf(all: ReadonlyMap<string, readonly Export[]>, patterns: readonly string[]): AggregateIndex {
  const byService = new Map<string, Export[]>();
  const learned: Array<[string, readonly Export[]]> = [];
  for (const routes of all.values()) {
    const service = routes[0]!.service;
    if (isAggregate(service)) learned.push([service, routes]);
    else byService.set(service, [...(byService.get(service) ?? []), ...routes]);
  }
  learned.sort(([a], [b]) => b.length - a.length);
  return {
    patterns,
    covers: (service) => patterns.some((pattern) => covers(pattern, service)),
    routesTo: (service, range) => {
      const own = byService.get(service)?.filter((route) => range === null || satisfies(route.version, range));
      if (own && own.length > 0) return own.sort(compareRoutes);
      return learned.find(([pattern]) => covers(pattern, service))?.[1];
    },
  };
}
