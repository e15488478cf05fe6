/**
 * Where a node's calls go — the last steps of the caller's chain: a service
 * served here runs in-process; otherwise route rules may choose another
 * balancer, an engine that balances by itself takes what it may, and the
 * balancer picks among the instances the look-up knows and the connections
 * made by hand (with retries and hedging where safe).
 */
import { balancedCall } from "../balance/balanced-call.ts";
import { choosesInstance, type ResolvedPolicy } from "../balance/policy.ts";
import type { NodeBalancers } from "../balance/node-balancers.ts";
import type { ServiceBalancer } from "../balance/service-balancer.ts";
import { Locality, type TargetInfo } from "../balance/target.ts";
import type { RunningEngine } from "../engine.ts";
import { reachableAddress } from "../lookup/reachable.ts";
import type { Instance } from "../lookup/types.ts";
import type { CallOutcome, CallRequest, CallerInfo } from "../rpc/context.ts";
import type { Dispatcher } from "../rpc/dispatcher.ts";
import { RpcError } from "../rpc/rpc-error.ts";
import { failedOutcome } from "../rpc/failed-stream.ts";
import { satisfies } from "../rpc/version.ts";
import { aggregateInstances } from "../route-rules/aggregate.ts";
import { placeOf } from "../route-rules/locality.ts";
import { ROUTE_META } from "../route-rules/rules.ts";
import type { Router } from "../route-rules/router.ts";
import type { Connections } from "./connections.ts";
import type { MembershipView } from "./membership-view.ts";
import type { ConnectOptions } from "./options.ts";

/** What the router reads of its node. */
export interface RouterNode {
  readonly id: string;
  readonly name: string;
  readonly cluster: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly self: CallerInfo;
  readonly dispatcher: Dispatcher;
  readonly connections: Connections;
  readonly membership: MembershipView;
  readonly balancers: NodeBalancers;
  readonly rules: Router;
  readonly engine: RunningEngine | null;
  /** How to dial an address found by look-up (TLS for TCP when the node has `clientTls`). */
  dialOptions(address: string): ConnectOptions;
}

/** Places a node's calls. */
export class CallRouter {
  readonly #node: RouterNode;

  constructor(node: RouterNode) {
    this.#node = node;
  }

  /** Places `request` for a client whose default balancer and policy are given. */
  place(request: CallRequest, balancer: ServiceBalancer, policy: ResolvedPolicy): CallOutcome {
    const node = this.#node;
    // One registry probe on the hot path: the endpoint itself, when served here
    // (a second only when the service is here but the method is not).
    const endpoint = node.dispatcher.served(request);
    if (endpoint || node.dispatcher.servesService(request.service, request.version)) {
      if (request.kind === "unary") return node.dispatcher.callLocally(request, node.self, endpoint);
      if (node.dispatcher.draining) return refuse(request, `node ${node.name} is closing; not processed — safe to retry`);
      return node.connections.localSession().call(request);
    }
    // Route rules (configured, or in the call's metadata) may call for another balancer.
    if (node.rules.configured || request.meta?.[ROUTE_META] !== undefined) {
      const routed = node.rules.balancerFor(request, balancer);
      if (routed instanceof RpcError) return failedOutcome(request.kind, routed);
      balancer = routed;
    }
    // An engine that balances by itself (NATS queue groups) takes the unary
    // calls whose strategy leaves it the choice of instance.
    if (request.kind === "unary" && node.engine?.group && !choosesInstance(policy.strategy)) {
      const group = node.balancers.group(balancer, node.engine);
      if (group) return balancedCall(group, policy, request, () => this.#noInstance(request));
    }
    return balancedCall(balancer, policy, request, () => this.#noInstance(request));
  }

  /**
   * The instances of `service` in `range` the look-up knows; when there is
   * none, the gateways' aggregates that cover it (longest pattern first: see
   * route-rules/aggregate.ts). A more specific route always wins: an
   * aggregate stands in only for a service nothing else offers.
   */
  instances(service: string, range: string | null): Instance[] {
    const membership = this.#node.membership;
    const exact = membership.lookup(service, range === null ? {} : { version: range });
    return exact.length > 0 ? exact : aggregateInstances(membership.members(), service);
  }

  /**
   * The instances of a service the node can reach: those the look-up knows
   * (by locality) or the aggregates standing in for them, then connections
   * made by hand to nodes it does not know.
   */
  collectTargets(service: string, range: string | null, labels: Readonly<Record<string, string>> | undefined, into: (info: TargetInfo) => void): void {
    const node = this.#node;
    const seen = new Set<string>([node.id]);
    const host = node.labels.host;
    // A client made with labels finds no gateway routes, aggregates included: a gateway's labels are its own.
    const found = labels ? node.membership.lookup(service, { ...(range === null ? {} : { version: range }), labels }) : this.instances(service, range);
    for (const instance of found) {
      const id = instance.node.id;
      if (seen.has(id) || instance.addresses.length === 0 || node.membership.isGone(id)) continue;
      seen.add(id);
      const address = reachableAddress(instance, host)!;
      const link = node.connections.link(address, node.dialOptions(address));
      // A gateway's instance is a route to another cluster: never as near as a real one.
      const { tier, routeCost } = placeOf(instance, node.cluster, host);
      into({
        id,
        name: instance.node.name,
        address,
        tier,
        routeCost,
        suspect: instance.state === "suspect",
        invoke: (request) => link.invoke(request),
        connected: () => link.connected,
      });
    }
    if (labels) return;
    for (const session of node.connections.remote()) {
      if (!session.usable) continue;
      const id = session.remoteInfo.id;
      if (seen.has(id) || node.membership.isGone(id)) continue;
      if (!session.remoteServices.some(([name, version]) => name === service && (range === null || satisfies(version, range)))) continue;
      seen.add(id);
      into({ id, name: session.remoteInfo.name, address: session.remoteInfo.address, tier: Locality.cluster, suspect: false, invoke: (request) => session.call(request) });
    }
  }

  #noInstance(request: CallRequest): RpcError {
    return new RpcError(
      "UNAVAILABLE",
      `${request.service}.${request.method}: no instance of ${request.service}@${request.version ?? "*"} is known to node ${this.#node.name}` +
        `${this.#knownVersions(request.service)}; serve it here, or connect to a node that serves it (node.connect(address))`,
      { service: request.service, method: request.method, unprocessed: true },
    );
  }

  /** ` (known: calculator@1.1.0 on node a, …)` for an error message, or nothing. */
  #knownVersions(service: string): string {
    const node = this.#node;
    const known: string[] = [];
    for (const [name, version] of node.dispatcher.registry.list()) if (name === service) known.push(`${name}@${version} on this node`);
    for (const session of node.connections.remote()) {
      if (session.closed) continue;
      for (const [name, version] of session.remoteServices) {
        if (name === service) known.push(`${name}@${version} on node ${session.remoteInfo.name}`);
      }
    }
    for (const instance of node.membership.lookup(service)) {
      const entry = `${instance.service}@${instance.version} on node ${instance.node.name}`;
      if (instance.node.id !== node.id && !known.includes(entry)) known.push(entry);
    }
    return known.length > 0 ? ` (known: ${known.join(", ")})` : " (no node known here serves it)";
  }
}

/** UNAVAILABLE, unprocessed, as the outcome the call's kind expects. */
export function refuse(request: CallRequest, message: string): CallOutcome {
  const error = new RpcError("UNAVAILABLE", `${request.service}.${request.method}: ${message}`, {
    service: request.service,
    method: request.method,
    unprocessed: true,
  });
  return failedOutcome(request.kind, error);
}
