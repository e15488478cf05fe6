/**
 * How near an instance found by look-up is to the node that would call it:
 * the locality tier and, for a gateway's instance, the cost of its route.
 * Pure: what a node's balancer orders instances by.
 */
import { Locality, type LocalityTier } from "../balance/target.ts";
import type { Instance } from "../lookup/types.ts";
import { routeOf } from "./route-label.ts";

/**
 * The tier and route cost of `instance` for a node of cluster `cluster` on
 * host `host`: a gateway's instance is a route to another cluster, never as
 * near as a real one (tier `gateway`, at its route's cost); a real one is
 * on the same host, in the same cluster, or (known some other way) beyond.
 */
export function placeOf(instance: Pick<Instance, "labels" | "service" | "version" | "node">, cluster: string, host: string | undefined): { tier: LocalityTier; routeCost: number } {
  const route = routeOf(instance);
  if (route) return { tier: Locality.gateway, routeCost: route.cost };
  const sameHost = instance.labels.host !== undefined && instance.labels.host === host;
  return { tier: sameHost ? Locality.host : instance.node.cluster === cluster ? Locality.cluster : Locality.gateway, routeCost: 0 };
}
