/**
 * Where a call goes, step by step, with the code callers and gateways use to
 * choose: the look-up's instances (`Catalog`), the aggregates that stand in
 * for a service nothing else offers (`aggregateInstances`), locality and
 * route cost (`placeOf`), the balancer (`ServiceBalancer`, by tier then
 * cost, power of two choices within), the hop and loop check
 * (`nextHopMeta`), a gateway's choice of the cluster to forward into (its
 * aggregation index's `routesTo`) and what it may forward to there
 * (`forwardable`). Only the call itself is simulated: no bytes are sent.
 */
import { resolvePolicy } from "../../src/balance/policy.ts";
import { ServiceBalancer, type TargetSource } from "../../src/balance/service-balancer.ts";
import type { Instance } from "../../src/lookup/types.ts";
import { nextHopMeta } from "../../src/route/hops.ts";
import { forwardable } from "../../src/route/route-targets.ts";
import { aggregateInstances } from "../../src/route-rules/aggregate.ts";
import { placeOf } from "../../src/route-rules/locality.ts";
import { RpcError } from "../../src/rpc/rpc-error.ts";
import type { Meta } from "../../src/wire/index.ts";
import type { SimGateway } from "./sim-gateway.ts";
import type { SimMember } from "./world.ts";

const POLICY = resolvePolicy(undefined);

/** Where a call ended. */
export type Outcome =
  | { ok: true; cluster: string; node: string; hops: number; way: string[] }
  | { ok: false; reason: "no instance" | "no route" | "dead node" | "loop" | "hop limit"; at: string; hops: number; way: string[] };

/** What a walk needs of the world. */
export interface WalkWorld {
  members: ReadonlyMap<string, SimMember>;
  gateways: ReadonlyMap<string, SimGateway>;
}

/** What a node's look-up offers for `service`: its instances, else the longest aggregates that cover it. */
function instancesOf(member: SimMember, service: string): Instance[] {
  const exact = member.catalog.lookup(service);
  return exact.length > 0 ? exact : aggregateInstances(member.backend.members(), service);
}

/** The instance the real balancer of `member` picks among `instances` (those `allow` lets through), or undefined. */
function pick(member: SimMember, service: string, instances: readonly Instance[], allow: (instance: Instance) => boolean, random: () => number): Instance | undefined {
  const byId = new Map<string, Instance>();
  const source: TargetSource = {
    epoch: 1,
    collectTargets: (_service, _range, _labels, into) => {
      for (const instance of instances) {
        if (instance.node.id === member.id || byId.has(instance.node.id) || !allow(instance)) continue;
        byId.set(instance.node.id, instance);
        const { tier, routeCost } = placeOf(instance, member.cluster, undefined);
        into({ id: instance.node.id, name: instance.node.name, address: instance.addresses[0] ?? "", tier, routeCost, suspect: instance.state === "suspect", invoke: () => Promise.reject(new Error("simulated")) });
      }
    },
  };
  const target = new ServiceBalancer(service, null, undefined, source, { random }).pick(POLICY, undefined, null, 0);
  return target && byId.get(target.id);
}

/**
 * Follows a call of `service` from `caller` until it reaches an instance or
 * fails: at most the hop limit of gateways, each checked as a real one
 * checks (loops, hop limit), each forwarding by its routes as it knows them.
 */
export function walk(world: WalkWorld, caller: SimMember, service: string, random: () => number): Outcome {
  const way: string[] = [];
  let meta: Meta = {};
  let at = caller;
  let from: string | undefined;
  let gateway: SimGateway | undefined;
  // A node that serves the service answers its own calls.
  if (caller.catalog.lookup(service).some((instance) => instance.node.id === caller.id)) return { ok: true, cluster: caller.cluster, node: caller.name, hops: 0, way };
  for (let step = 0; step <= 16; step++) {
    const allow = gateway === undefined ? () => true : (instance: Instance) => forwardable(instance, from!, gateway!.own);
    const chosen = pick(at, service, instancesOf(at, service), allow, random);
    if (!chosen) return { ok: false, reason: gateway === undefined ? "no instance" : "no route", at: at.cluster, hops: way.length, way };
    const target = world.members.get(chosen.node.id);
    if (!target || target.crashed) return { ok: false, reason: "dead node", at: at.cluster, hops: way.length, way };
    if (target.gateway === undefined) return { ok: true, cluster: target.cluster, node: target.name, hops: way.length, way };
    gateway = world.gateways.get(target.gateway)!;
    const next = nextHopMeta(meta, { service, method: "call", gateway: gateway.name, maxHops: gateway.maxHops });
    if (next instanceof RpcError) return { ok: false, reason: next.message.includes("loops") ? "loop" : "hop limit", at: target.cluster, hops: way.length, way };
    meta = next;
    way.push(gateway.name);
    const routes = gateway.indexes.get(target.cluster)?.routesTo(service, null);
    if (!routes || routes.length === 0) return { ok: false, reason: "no route", at: target.cluster, hops: way.length, way };
    from = target.cluster;
    at = gateway.members.get(routes[0]!.via)!;
  }
  return { ok: false, reason: "hop limit", at: at.cluster, hops: way.length, way };
}
