import type { TargetSource } from "../balance/service-balancer.ts";
import type { TargetInfo } from "../balance/target.ts";
import type { Instance } from "../lookup/types.ts";
import type { Node } from "../node/index.ts";
import { nodeInternals } from "../node/node.ts";
import { routeOf } from "../route-rules/route-label.ts";

/**
 * The instances a gateway may forward a call to in one of its clusters: what
 * its node there would call, less the gateway's own members and the routes
 * that lead back into the cluster the call came from.
 */
export class RouteTargets implements TargetSource {
  readonly #node: Node;
  readonly #from: string;
  readonly #own: ReadonlySet<string>;

  /** `node`: the gateway's member in the cluster calls go into; `from`: the cluster they come from. */
  constructor(node: Node, from: string, own: ReadonlySet<string>) {
    this.#node = node;
    this.#from = from;
    this.#own = own;
  }

  get epoch(): number {
    return nodeInternals(this.#node).epoch;
  }

  collectTargets(service: string, range: string | null, labels: Readonly<Record<string, string>> | undefined, into: (info: TargetInfo) => void): void {
    // The aggregates standing in for a service with no instance of its own are routes too.
    const instances = new Map(nodeInternals(this.#node).router.instances(service, range).map((instance) => [instance.node.id, instance]));
    nodeInternals(this.#node).collectTargets(service, range, labels, (info) => {
      const instance = instances.get(info.id);
      // Only members the look-up knows: their labels say whether they are routes, and where to.
      if (instance && forwardable(instance, this.#from, this.#own)) into(info);
    });
  }
}

/**
 * Whether a gateway may forward a call that came from cluster `from` to
 * `instance`: not one of its own members (`own`, by node id), and not a
 * route that leads back into `from`.
 */
export function forwardable(instance: Pick<Instance, "labels" | "service" | "version" | "node">, from: string, own: ReadonlySet<string>): boolean {
  if (own.has(instance.node.id)) return false;
  const route = routeOf(instance);
  return !(route && route.path.includes(from));
}
