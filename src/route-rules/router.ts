import type { ServiceBalancer, TargetSource } from "../balance/service-balancer.ts";
import type { Instance } from "../lookup/types.ts";
import type { CallRequest } from "../rpc/context.ts";
import { RpcError } from "../rpc/rpc-error.ts";
import { filterOf, RuledTargets } from "./ruled-targets.ts";
import { metaRouteRules, placementText, ROUTE_META, type RouteRule, type RouteRules } from "./rules.ts";

/** Makes a balancer over a source: the node's settings stay the node's. */
export type BalancerFactory = (service: string, range: string | null, source: TargetSource) => ServiceBalancer;

/** How many distinct rule texts from call metadata are kept parsed. */
const META_CACHE = 64;

/**
 * Applies route rules to calls: picks, per call, the balancer that the rule
 * of its service (from call metadata first, else configured) calls for — a
 * weighted choice of version ranges, a pinned cluster, a failover order — or
 * the caller's own when no rule applies.
 */
export class Router {
  readonly #rules: RouteRules;
  readonly #base: TargetSource;
  readonly #instances: (service: string, range: string | null) => Instance[];
  readonly #make: BalancerFactory;
  readonly #random: () => number;
  readonly #balancers = new Map<string, ServiceBalancer>();
  readonly #parsed = new Map<string, RouteRules>();

  constructor(rules: RouteRules, base: TargetSource, instances: (service: string, range: string | null) => Instance[], make: BalancerFactory, random: () => number = Math.random) {
    this.#rules = rules;
    this.#base = base;
    this.#instances = instances;
    this.#make = make;
    this.#random = random;
  }

  /** Whether any rule is configured (calls without rule metadata then need no look at all). */
  get configured(): boolean {
    return this.#rules.size > 0;
  }

  /** The rule that applies to a call: from its metadata, else configured; an RpcError for unreadable metadata. */
  ruleFor(request: Pick<CallRequest, "service" | "method" | "meta">): Readonly<RouteRule> | undefined | RpcError {
    const text = request.meta?.[ROUTE_META];
    if (text !== undefined) {
      const rules = this.#fromMeta(text, request.service, request.method);
      if (rules instanceof RpcError) return rules;
      const rule = rules.get(request.service);
      if (rule) return rule;
    }
    return this.#rules.get(request.service);
  }

  /**
   * The balancer a call goes through: `fallback` when no rule applies. A
   * configured rule's pin and failover order are added to the call's
   * metadata, so that the gateways on its way place it alike.
   */
  balancerFor(request: CallRequest, fallback: ServiceBalancer): ServiceBalancer | RpcError {
    const rule = this.ruleFor(request);
    if (rule === undefined || rule instanceof RpcError) return rule ?? fallback;
    if (request.meta?.[ROUTE_META] === undefined) {
      const text = placementText(rule);
      if (text !== "") request.meta = { ...request.meta, [ROUTE_META]: text };
    }
    const weights = rule.weights ? Object.entries(rule.weights).filter(([, weight]) => weight > 0) : [];
    if (weights.length === 0) return this.#balancer(request.service, request.version, rule);
    // A weighted choice among the ranges that have an instance now: a canary that is gone gets no calls.
    const live = weights.map(([range, weight]) => [this.#balancer(request.service, request.version, rule, range), weight] as const).filter(([balancer]) => balancer.targets().length > 0);
    if (live.length === 0) return this.#balancer(request.service, request.version, rule, weights[0]![0]);
    let point = this.#random() * live.reduce((sum, [, weight]) => sum + weight, 0);
    for (const [balancer, weight] of live) {
      point -= weight;
      if (point < 0) return balancer;
    }
    return live.at(-1)![0];
  }

  #balancer(service: string, range: string | null, rule: Readonly<RouteRule>, versions?: string): ServiceBalancer {
    const key = JSON.stringify([service, range, versions ?? null, rule.pin ?? null, rule.clusters ?? null]);
    let balancer = this.#balancers.get(key);
    if (!balancer) {
      balancer = this.#make(service, range, new RuledTargets(this.#base, this.#instances, filterOf(rule, versions)));
      this.#balancers.set(key, balancer);
    }
    return balancer;
  }

  #fromMeta(text: string, service: string, method: string): RouteRules | RpcError {
    const known = this.#parsed.get(text);
    if (known !== undefined) return known;
    const rules = metaRouteRules(text, service, method);
    // Errors name the call: only good rules are kept.
    if (rules instanceof RpcError) return rules;
    if (this.#parsed.size >= META_CACHE) this.#parsed.delete(this.#parsed.keys().next().value!);
    this.#parsed.set(text, rules);
    return rules;
  }
}
