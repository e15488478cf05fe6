import type { ServiceStats } from "../balance/service-balancer.ts";
import { contract, unary } from "../rpc/contract.ts";
import { plainSchema } from "../rpc/plain-schema.ts";
import type { RouteEntry } from "../route-rules/route-label.ts";

/** What a gateway's balancers see of the instances it forwards one service's calls to, from one cluster into another. */
export interface ForwardStats extends ServiceStats {
  /** The cluster the calls come from. */
  readonly from: string;
  /** The cluster they are forwarded into. */
  readonly via: string;
}

const anyObject = plainSchema<Record<string, never>>((v) => (typeof v === "object" && v !== null ? null : "expected {}"));

/** One route a gateway advertises into one of its clusters. */
export interface AdvertisedRoute extends RouteEntry {
  /** The cluster it is advertised in. */
  readonly cluster: string;
  /** The cluster calls go into next. */
  readonly via: string;
}

/**
 * Every member of a gateway serves this contract, so that tools can ask a
 * gateway what it advertises and how its forwarded calls fare.
 */
export const GatewayContract = contract("amoeba.gateway", "1.0.0", {
  routes: unary({
    input: anyObject,
    output: plainSchema<AdvertisedRoute[]>(() => null),
    idempotent: true,
    description: "The routes this gateway advertises into each of its clusters.",
  }),
  stats: unary({
    input: anyObject,
    output: plainSchema<ForwardStats[]>(() => null),
    idempotent: true,
    description: "Per forwarded service and pair of clusters, the instances calls went to: calls, failures, latency, ejection.",
  }),
});
