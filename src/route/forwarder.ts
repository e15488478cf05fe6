import { balancedCall } from "../balance/balanced-call.ts";
import { resolvePolicy } from "../balance/policy.ts";
import { ServiceBalancer } from "../balance/service-balancer.ts";
import type { Node } from "../node/index.ts";
import { nodeInternals } from "../node/node.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import type { CallContext, CallRequest, ClientNext, Handlers, ServerNext } from "../rpc/context.ts";
import type { Contract, MethodKind } from "../rpc/contract.ts";
import type { PassThrough } from "../rpc/pass-through.ts";
import { isRpcError, RpcError } from "../rpc/rpc-error.ts";
import type { ForwardStats } from "./gateway-contract.ts";
import { nextHopMeta } from "./hops.ts";
import type { Export } from "./export.ts";
import { RouteTargets } from "./route-targets.ts";
import { Router } from "../route-rules/router.ts";
import type { RouteRule, RouteRules } from "../route-rules/rules.ts";

/** What the forwarding handlers of a gateway share. */
export interface ForwardSettings {
  /** The gateway's name: the hop it adds to a call's way. */
  readonly gateway: string;
  readonly maxHops: number;
  /** The gateway's member in each cluster. */
  readonly nodes: ReadonlyMap<string, Node>;
  /** The ids of those members: never a target of their own forwarding. */
  readonly own: ReadonlySet<string>;
  /** Route rules the gateway applies to the calls it forwards (a call's own, in its metadata, come first). */
  readonly rules: RouteRules;
}

const POLICY = resolvePolicy(undefined);

/** The method a handler forwards the calls of: a contract's, or one a call names under an aggregate. */
interface Target {
  readonly service: string;
  /** A contract's version, or the range a call under an aggregate asks for (null: any). */
  readonly version: string | null;
  readonly method: string;
  readonly kind: MethodKind;
  readonly idempotent: boolean;
}

/** Where one cluster's calls go into another: the instances there, and the balancers over them. */
interface Way {
  /** The gateway's member there: its tracing sees the forwarded calls leave. */
  readonly node: Node;
  readonly targets: RouteTargets;
  readonly router: Router;
  readonly balancers: Map<string, ServiceBalancer>;
  /** The client chain around each balancer, composed at its first call. */
  readonly chains: Map<ServiceBalancer, ClientNext>;
  readonly stats: Array<{ key: string; balancer: ServiceBalancer }>;
}

/**
 * Forwards calls that reach a gateway in one cluster into another: any
 * service and method kind, with the caller's deadline (what remains of it),
 * cancellation and metadata, one more hop, balanced, retried and failed over
 * among the instances and routes there like any node's calls, and as route
 * rules say. When the gateway traces calls, each onward call is traced as a
 * child of the call it serves.
 */
export class Forwarder {
  readonly #settings: ForwardSettings;
  /** The cluster the calls come from. */
  readonly #from: string;
  readonly #ways = new Map<string, Way>();

  constructor(settings: ForwardSettings, from: string) {
    this.#settings = settings;
    this.#from = from;
  }

  /** Handlers for every method of `contract` that forward its calls by the routes `routes()` gives at the time (cheapest first). */
  handlers(contract: Contract, routes: () => readonly Export[] | undefined): Handlers<Contract> {
    const handlers: Record<string, ServerNext> = {};
    for (const [method, def] of Object.entries(contract.methods)) {
      handlers[method] = this.#handler({ service: contract.name, version: contract.version, method, kind: def.kind, idempotent: def.idempotent }, routes);
    }
    return handlers as Handlers<Contract>;
  }

  /**
   * Forwards, with no contract, the calls of the services `covers` says the
   * gateway's aggregates take here, by the routes `routesTo` gives at the
   * time; a service nothing behind the gateway offers fails with NOT_FOUND,
   * not processed. Inputs and outputs pass as they came: the instance at the
   * end of the route validates.
   */
  passThrough(covers: (service: string) => boolean, routesTo: (service: string, range: string | null) => readonly Export[] | undefined): PassThrough {
    const gateway = this.#settings.gateway;
    return {
      covers,
      handler: ({ service, method, kind, version }) =>
        this.#handler({ service, version, method, kind, idempotent: false }, () => {
          const routes = routesTo(service, version);
          if (routes && routes.length > 0) return routes;
          const wanted = version === null ? service : `${service}@${version}`;
          return new RpcError("NOT_FOUND", `${service}.${method}: no service ${wanted} is known behind gateway ${gateway}, whose aggregate covers the name`, {
            service,
            method,
            node: gateway,
            unprocessed: true,
          });
        }),
    };
  }

  /**
   * Answers the calls of services the gateway withdrew a moment ago (those
   * `withdrawn` names): UNAVAILABLE, unprocessed, so that a caller that has
   * not yet seen the route go tries another way, rather than NOT_FOUND, which
   * says the service does not exist.
   */
  withdrawn(withdrawn: (service: string) => boolean): PassThrough {
    const gateway = this.#settings.gateway;
    return {
      covers: withdrawn,
      handler:
        ({ service, method }) =>
        () => {
          throw new RpcError("UNAVAILABLE", `${service}.${method}: gateway ${gateway} no longer has a route to ${service}`, { service, method, node: gateway, unprocessed: true });
        },
    };
  }

  /** The handler of one method: forwards each call by the routes `routes()` gives at the time. */
  #handler(target: Target, routes: () => readonly Export[] | undefined | RpcError): ServerNext {
    const streamsOut = target.kind === "server-stream" || target.kind === "bidi-stream";
    const balancerKey = `${target.service}@${target.version ?? "*"}`;
    return (input, ctx) => {
      const request = this.#request(target, input, ctx);
      if (request instanceof RpcError) throw request;
      const known = routes();
      if (known instanceof RpcError) throw known;
      const chosen = this.#choose(request, known);
      if (chosen instanceof RpcError) throw chosen;
      const { way, via } = chosen;
      const balancer = way.router.balancerFor(request, this.#balancer(way, balancerKey, target.service, target.version));
      if (balancer instanceof RpcError) throw balancer;
      const result = this.#chain(way, via, balancer)(nestedIn(request, ctx));
      if (streamsOut) return annotateStream(result as CallStream<unknown>, this.#settings.gateway, via);
      return (result as Promise<unknown>).catch((error: unknown) => {
        throw throughGateway(error, this.#settings.gateway, via);
      });
    };
  }

  /** What its balancers saw of the instances calls were forwarded to. */
  stats(now: number): ForwardStats[] {
    return [...this.#ways].flatMap(([via, way]) => way.stats.map(({ balancer }) => ({ from: this.#from, via, ...balancer.stats(now) })));
  }

  #request(target: Target, input: unknown, ctx: CallContext): CallRequest | RpcError {
    const { service, method } = target;
    const meta = nextHopMeta(ctx.meta, { service, method, gateway: this.#settings.gateway, maxHops: this.#settings.maxHops });
    if (meta instanceof RpcError) return meta;
    return {
      service,
      method,
      kind: target.kind,
      version: target.version,
      input,
      deadline: ctx.deadline,
      // Cancelled with the call it serves, without an AbortSignal made for each forwarded call.
      signal: undefined,
      parent: ctx,
      meta,
      // The far handler's response metadata comes back with this call's result.
      onMeta: (responseMeta) => Object.assign(ctx.responseMeta, responseMeta),
      idempotent: target.idempotent,
      serverMicros: undefined,
      attempts: undefined,
    };
  }

  /** The cluster to forward into: the cheapest route, or the first a rule's pin or failover order allows. */
  #choose(request: CallRequest, routes: readonly Export[] | undefined): { way: Way; via: string } | RpcError {
    const where = { service: request.service, method: request.method, node: this.#settings.gateway, unprocessed: true };
    if (!routes || routes.length === 0) {
      return new RpcError("UNAVAILABLE", `${request.service}.${request.method}: gateway ${this.#settings.gateway} no longer has a route to ${request.service}`, where);
    }
    // Any way's router reads the rule alike: the first one will do.
    const rule = this.#way(routes[0]!.via).router.ruleFor(request);
    if (rule instanceof RpcError) return rule;
    const allowed = rule ? routes.filter((route) => ruleAllows(rule, route)) : routes;
    if (allowed.length === 0) {
      return new RpcError("UNAVAILABLE", `${request.service}.${request.method}: gateway ${this.#settings.gateway} has no route to ${request.service} in cluster ${rule!.pin}`, where);
    }
    const best = rule?.clusters ? [...allowed].sort((a, b) => rank(rule.clusters!, a) - rank(rule.clusters!, b))[0]! : allowed[0]!;
    return { way: this.#way(best.via), via: best.via };
  }

  #way(via: string): Way {
    let way = this.#ways.get(via);
    if (!way) {
      const node = this.#settings.nodes.get(via)!;
      const targets = new RouteTargets(node, this.#from, this.#settings.own);
      const stats: Way["stats"] = [];
      const router = new Router(
        this.#settings.rules,
        targets,
        (service, range) => nodeInternals(node).router.instances(service, range),
        (service, range, source) => {
          const balancer = new ServiceBalancer(service, range, undefined, source, { random: Math.random });
          stats.push({ key: service, balancer });
          return balancer;
        },
      );
      way = { node, targets, router, balancers: new Map(), chains: new Map(), stats };
      this.#ways.set(via, way);
    }
    return way;
  }

  /**
   * How calls leave through `balancer`: the gateway node's client chain around it, composed
   * once per balancer. Traced, each onward call is a client span, a child of the call served here.
   */
  #chain(way: Way, via: string, balancer: ServiceBalancer): ClientNext {
    let chain = way.chains.get(balancer);
    if (!chain) {
      chain = nodeInternals(way.node).chain((onward) => balancedCall(balancer, POLICY, onward, () => this.#noInstance(onward, via)));
      way.chains.set(balancer, chain);
    }
    return chain;
  }

  /** The balancer over the instances of `service@version` (`key`) there. */
  #balancer(way: Way, key: string, service: string, version: string | null): ServiceBalancer {
    let balancer = way.balancers.get(key);
    if (!balancer) {
      balancer = new ServiceBalancer(service, version, undefined, way.targets, { random: Math.random });
      way.balancers.set(key, balancer);
      way.stats.push({ key, balancer });
    }
    return balancer;
  }

  #noInstance(request: CallRequest, via: string): RpcError {
    return new RpcError(
      "UNAVAILABLE",
      `${request.service}.${request.method}: gateway ${this.#settings.gateway} knows no instance of ${request.service}@${request.version ?? "*"} in cluster ${via} any more`,
      { service: request.service, method: request.method, node: this.#settings.gateway, unprocessed: true },
    );
  }
}

/** `request` as a nested call of the call `ctx` serves: it carries what `ctx` forwards (the trace context naming the served call's span, when traced). */
function nestedIn(request: CallRequest, ctx: CallContext): CallRequest {
  // request.meta is the forwarder's own copy (nextHopMeta made it): added to in place.
  Object.assign(request.meta!, ctx.forwardMeta);
  return request;
}

/** Whether a rule's pin lets a route through (the failover order only ranks). */
function ruleAllows(rule: Readonly<RouteRule>, route: Export): boolean {
  return rule.pin === undefined || route.path.at(-1) === rule.pin;
}

function rank(order: readonly string[], route: Export): number {
  const index = order.indexOf(route.path.at(-1)!);
  return index < 0 ? order.length : index;
}

// "(in cluster region-b, through gateway gw-2, gw-1)": where an error arose, and the gateways it came back through.
const THROUGH = /\(in cluster [^()]*, through gateway [^()]*\)$/;

/**
 * The error a caller sees of a forwarded call: as it arose (code, node,
 * whether it was processed), its message saying in which cluster and through
 * which gateways — the first gateway names the cluster, the next ones add themselves.
 */
export function throughGateway(error: unknown, gateway: string, cluster: string): unknown {
  if (!isRpcError(error)) return error;
  const message = THROUGH.test(error.message) ? `${error.message.slice(0, -1)}, ${gateway})` : `${error.message} (in cluster ${cluster}, through gateway ${gateway})`;
  return new RpcError(error.code, message, {
    details: error.details,
    service: error.service,
    method: error.method,
    node: error.node ?? gateway,
    unprocessed: error.unprocessed,
    remoteStack: error.remoteStack,
    cause: error,
  });
}

/** The far stream, item by item; its error says where it arose. Leaving early cancels the far call. */
async function* annotateStream(stream: CallStream<unknown>, gateway: string, cluster: string): AsyncGenerator<unknown> {
  try {
    yield* stream;
  } catch (error) {
    throw throughGateway(error, gateway, cluster);
  }
}
