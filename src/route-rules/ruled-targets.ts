import type { TargetSource } from "../balance/service-balancer.ts";
import { Locality, type TargetInfo } from "../balance/target.ts";
import type { Instance } from "../lookup/types.ts";
import { satisfies } from "../rpc/version.ts";
import { isGateway, parseRoutes } from "./route-label.ts";
import type { RouteRule } from "./rules.ts";

/** What a rule asks of one balancer's instances: a version range (one weight's), a cluster to pin, an order of clusters. */
export interface TargetFilter {
  readonly versions?: string;
  readonly pin?: string;
  readonly clusters?: readonly string[];
}

/** Between two ranks of a failover order: above any route's cost, so that rank decides first. */
export const RANK_STEP = 1_000_000_000;

/** The clusters an instance serves from, with what reaching each costs: its own, or where a gateway's routes lead. */
export function destinations(instance: Instance, own: { cost: number }): Array<{ cluster: string; cost: number }> {
  if (!isGateway(instance.labels)) return [{ cluster: instance.node.cluster, cost: own.cost }];
  return parseRoutes(instance.labels, instance.service, instance.version).map((route) => ({ cluster: route.path.at(-1)!, cost: route.cost }));
}

/**
 * The instances a source gives, as one route rule narrows and orders them:
 * only versions in a weight's range, only those in (or leading to) a pinned
 * cluster, and the clusters of a failover order in turn — the first at its
 * usual locality, each next one after every route to the ones before.
 */
export class RuledTargets implements TargetSource {
  readonly #base: TargetSource;
  readonly #instances: (service: string, range: string | null) => Instance[];
  readonly #filter: TargetFilter;

  constructor(base: TargetSource, instances: (service: string, range: string | null) => Instance[], filter: TargetFilter) {
    this.#base = base;
    this.#instances = instances;
    this.#filter = filter;
  }

  get epoch(): number {
    return this.#base.epoch;
  }

  collectTargets(service: string, range: string | null, labels: Readonly<Record<string, string>> | undefined, into: (info: TargetInfo) => void): void {
    const byId = new Map(this.#instances(service, range).map((instance) => [instance.node.id, instance]));
    const { versions, pin, clusters } = this.#filter;
    this.#base.collectTargets(service, range, labels, (info) => {
      const instance = byId.get(info.id);
      // Connections made by hand say nothing of version or cluster: no rule can place them.
      if (!instance) return;
      if (versions !== undefined && !satisfies(instance.version, versions)) return;
      let reachable = destinations(instance, { cost: info.routeCost ?? 0 });
      if (pin !== undefined) reachable = reachable.filter((each) => each.cluster === pin);
      if (reachable.length === 0) return;
      if (!clusters) {
        into({ ...info, routeCost: reachable[0]!.cost });
        return;
      }
      const ranked = reachable.map((each) => ({ ...each, rank: rankOf(clusters, each.cluster) })).sort((a, b) => a.rank - b.rank || a.cost - b.cost)[0]!;
      if (ranked.rank === 0) into({ ...info, routeCost: ranked.cost });
      else into({ ...info, tier: Locality.gateway, routeCost: ranked.rank * RANK_STEP + ranked.cost });
    });
  }
}

/** A cluster's place in a failover order; clusters it does not name come after all it names. */
function rankOf(order: readonly string[], cluster: string): number {
  const index = order.indexOf(cluster);
  return index < 0 ? order.length : index;
}

/** The filter of a rule without its weights (each weight's range makes a filter of its own). */
export function filterOf(rule: Readonly<RouteRule>, versions?: string): TargetFilter {
  return { ...(versions !== undefined ? { versions } : {}), ...(rule.pin !== undefined ? { pin: rule.pin } : {}), ...(rule.clusters ? { clusters: rule.clusters } : {}) };
}
