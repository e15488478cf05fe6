import type { TargetSource } from "../balance/service-balancer.ts";
import { LOCALITY_NAMES, Locality, type TargetInfo } from "../balance/target.ts";
import type { Node } from "../node/index.ts";
import { nodeInternals } from "../node/node.ts";
import type { Meta } from "../wire/index.ts";
import { isGateway, parseRoutes, routeOf } from "../route-rules/route-label.ts";
import { filterOf, RANK_STEP, RuledTargets } from "../route-rules/ruled-targets.ts";
import { RpcError } from "../rpc/rpc-error.ts";

/** One instance a call could go to, as a node's balancer ranks it. */
export interface RouteCandidate {
  readonly node: string;
  readonly address: string;
  /** The cluster of the member: the caller's own for a gateway's route. */
  readonly cluster: string;
  readonly version: string;
  readonly locality: (typeof LOCALITY_NAMES)[number];
  /** The route's cost (0 for an instance that is not a route; a failover order adds a step per rank). */
  readonly cost: number;
  /** The clusters a route crosses, the serving one last; empty for an instance that is not a route. */
  readonly path: readonly string[];
  readonly suspect: boolean;
  /** The aggregate (`shop.*`) this route is, when the gateway advertises no route of the service's own. */
  readonly aggregate?: string;
  /** In the group a call goes to now: the nearest locality, then the cheapest cost, unsuspected first. */
  readonly chosen: boolean;
}

/** The candidates of one balancer: all of them, or those of one weighted version range. */
export interface CandidateGroup {
  /** The version range of a weight, when the rule has weights. */
  readonly versions?: string;
  /** Its share of calls, when the rule has weights. */
  readonly weight?: number;
  /** Every candidate, nearest first. */
  readonly candidates: readonly RouteCandidate[];
  /** One sentence: which instances calls of this group go to, and why. */
  readonly reason: string;
}

/** Where a call of a service would go from a node now, and why. */
export interface RouteExplanation {
  readonly service: string;
  readonly from: { readonly node: string; readonly cluster: string };
  /** The route rule that applies, in its text form; undefined when none does. */
  readonly rule: string | undefined;
  readonly groups: readonly CandidateGroup[];
}

/**
 * Explains where `node` would send a call of `service` (within `version`,
 * with metadata `meta`) now: the route rule that applies, and for each
 * balancer it calls for the instances in the order it tries them —
 * locality (host › cluster › gateway), then a route's cost — and the group
 * it picks from. Calls spread over that group by the client's strategy.
 * An RpcError when `meta` carries unreadable rules.
 */
export function explainRoute(node: Node, service: string, version?: string, meta?: Meta): RouteExplanation | RpcError {
  const core = nodeInternals(node);
  const rule = core.rules.ruleFor({ service, method: "explain", meta });
  if (rule instanceof RpcError) return rule;
  const from = { node: node.name, cluster: node.cluster };
  const instances = (name: string, range: string | null): ReturnType<Node["lookup"]> => core.router.instances(name, range);
  if (!rule) return { service, from, rule: undefined, groups: [explainGroup(node, core, service, version)] };
  const text = [
    rule.weights ? `weights ${Object.entries(rule.weights).map(([range, weight]) => `${range}=${weight}`).join(" ")}` : "",
    rule.clusters ? `clusters ${rule.clusters.join(" ")}` : "",
    rule.pin !== undefined ? `pin ${rule.pin}` : "",
  ]
    .filter((part) => part !== "")
    .map((part) => `${service} ${part}`)
    .join("; ");
  const weights = rule.weights ? Object.entries(rule.weights) : [];
  const groups =
    weights.length === 0
      ? [explainGroup(node, new RuledTargets(core, instances, filterOf(rule)), service, version)]
      : weights.map(([range, weight]) => ({ versions: range, weight, ...explainGroup(node, new RuledTargets(core, instances, filterOf(rule, range)), service, version) }));
  return { service, from, rule: text, groups };
}

/** Whether `node` knows a way for calls of `service` (within `version`): an instance, a route, or an aggregate covering it. */
export function knowsWay(node: Node, service: string, version?: string): boolean {
  return nodeInternals(node).router.instances(service, version ?? null).length > 0;
}

function explainGroup(node: Node, source: TargetSource, service: string, version: string | undefined): CandidateGroup {
  // A service with no instance of its own is offered by the aggregates that cover it.
  const instances = new Map(nodeInternals(node).router.instances(service, version ?? null).map((instance) => [instance.node.id, instance]));
  const ranked: Array<Omit<RouteCandidate, "chosen"> & { tier: number }> = [];
  source.collectTargets(service, version ?? null, undefined, (info: TargetInfo) => {
    const instance = instances.get(info.id);
    // The route a rule chose has the cost the source gave (less a failover rank); else the cheapest.
    const cost = info.routeCost ?? 0;
    const route = instance && isGateway(instance.labels) ? (parseRoutes(instance.labels, instance.service, instance.version).find((each) => each.cost === cost % RANK_STEP) ?? routeOf(instance)) : undefined;
    ranked.push({
      node: info.name,
      address: info.address,
      cluster: instance?.node.cluster ?? node.cluster,
      version: instance?.version ?? "?",
      locality: LOCALITY_NAMES[info.tier],
      tier: info.tier,
      cost,
      path: route?.path ?? [],
      suspect: info.suspect,
      ...(instance && instance.service !== service ? { aggregate: instance.service } : {}),
    });
  });
  ranked.sort((a, b) => a.tier - b.tier || a.cost - b.cost || a.node.localeCompare(b.node));
  const usable = ranked.filter((each) => !each.suspect);
  const first = usable[0] ?? ranked[0];
  const candidates = ranked.map(({ tier, ...each }) => ({
    ...each,
    chosen: first !== undefined && tier === first.tier && each.cost === first.cost && (usable.length === 0 || !each.suspect),
  }));
  if (first === undefined) return { candidates, reason: `no instance of ${service} is known in cluster ${node.cluster} or through its gateways` };
  const chosen = candidates.filter((each) => each.chosen);
  const where =
    first.tier === Locality.gateway
      ? `through a gateway, by the cheapest ${first.aggregate === undefined ? "route" : `aggregate ${first.aggregate} (no route of ${service}'s own is known)`} (cost ${first.cost}${first.path.length > 0 ? `, ${first.path.join(" > ")}` : ""})`
      : `in ${first.locality === "host" ? "this host" : `cluster ${node.cluster}`}, the nearest locality`;
  const spread = chosen.length === 1 ? `to ${chosen[0]!.node}` : `spread over ${chosen.map((each) => each.node).join(", ")} by the client's strategy`;
  const suspects = usable.length === 0 ? " (every instance is suspected; the best of them is used)" : "";
  return { candidates, reason: `calls go ${spread}: ${where}${suspects}` };
}
