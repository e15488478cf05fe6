import type { RunningEngine } from "../engine.ts";
import { ServiceBalancer, type BalancerSettings, type ServiceStats, type TargetSource } from "./service-balancer.ts";
import { Locality } from "./target.ts";

/**
 * A node's balancers: one per service, version range and labels, shared by
 * all its clients so that what one client's calls teach (latency, failures,
 * ejections) steers the others; and, beside each, one over the engine's
 * group when the engine balances by itself.
 */
export class NodeBalancers {
  readonly #source: TargetSource;
  readonly #settings: BalancerSettings;
  readonly #byKey = new Map<string, ServiceBalancer>();
  readonly #groups = new Map<ServiceBalancer, ServiceBalancer>();

  /** `source` is the node: where the instances come from. */
  constructor(source: TargetSource, settings: BalancerSettings) {
    this.#source = source;
    this.#settings = settings;
  }

  /** The balancer of a service, version range and labels. */
  of(service: string, range: string | null, labels: Readonly<Record<string, string>> | undefined): ServiceBalancer {
    const key = `${service}\u0000${range ?? "*"}\u0000${labels ? JSON.stringify(Object.entries(labels).sort()) : ""}`;
    let balancer = this.#byKey.get(key);
    if (!balancer) {
      balancer = new ServiceBalancer(service, range, labels && { ...labels }, this.#source, this.#settings);
      this.#byKey.set(key, balancer);
    }
    return balancer;
  }

  /** A balancer over other instances (a route rule's share of them), with the node's settings; not kept here. */
  over(service: string, range: string | null, source: TargetSource): ServiceBalancer {
    return new ServiceBalancer(service, range, undefined, source, this.#settings);
  }

  /**
   * A balancer whose one target is the engine's group for the service of
   * `balancer` (its retries and budget apply as to any instance), or
   * undefined when the group cannot honour what the client asks.
   */
  group(balancer: ServiceBalancer, engine: Pick<RunningEngine, "group">): ServiceBalancer | undefined {
    let group = this.#groups.get(balancer);
    if (!group) {
      const node = this.#source;
      const source: TargetSource = {
        get epoch() {
          return node.epoch;
        },
        collectTargets(service, range, labels, into) {
          const found = engine.group?.(service, range, labels);
          if (found) into({ id: found.address, name: found.name, address: found.address, tier: Locality.cluster, suspect: false, invoke: (request) => found.invoke(request) });
        },
      };
      group = new ServiceBalancer(balancer.service, balancer.range, balancer.labels, source, this.#settings);
      this.#groups.set(balancer, group);
    }
    return group.targets().length > 0 ? group : undefined;
  }

  /** What each balancer sees of its instances, for `node.stats()`. */
  stats(now: number): ServiceStats[] {
    return [...this.#byKey.values()].map((balancer) => balancer.stats(now));
  }

  /** Calls, retries and ejections per balancer, for the metrics. */
  totals(now: number): Array<{ service: string } & ReturnType<ServiceBalancer["totals"]>> {
    return [...this.#byKey.values()].map((balancer) => ({ service: balancer.service, ...balancer.totals(now) }));
  }
}
