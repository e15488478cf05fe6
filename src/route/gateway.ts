import { CATALOG_LIMITS } from "../lookup/catalog-sync/index.ts";
import { reachableAddress } from "../lookup/reachable.ts";
import type { Member } from "../lookup/types.ts";
import { Node, startNode } from "../node/index.ts";
import type { Contract } from "../rpc/contract.ts";
import { MAX_DESCRIBED, ReflectionContract, type ServiceDescription } from "../rpc/reflection.ts";
import { forwardContract } from "./forward-contract.ts";
import { GatewayContract, type AdvertisedRoute, type ForwardStats } from "./gateway-contract.ts";
import { Forwarder, type ForwardSettings } from "./forwarder.ts";
import { resolveGatewayOptions, type GatewayOptions, type ResolvedGatewayOptions } from "./options.ts";
import { encodeRoutes, GATEWAY_LABEL, ROUTE_LABEL_PREFIX } from "../route-rules/route-label.ts";
import type { Export } from "./export.ts";
import { RouteTable } from "./route-table.ts";
import { routeLabelValue, routesByService } from "./route-labels.ts";
import { aggregate, type AggregateIndex } from "./aggregation.ts";
import { AGGREGATE_VERSION, covers, isAggregate } from "../route-rules/aggregate.ts";
import { nodeInternals } from "../node/node.ts";

/** How long asking a service for its description may take (ms). */
const DESCRIBE_TIMEOUT_MS = 3_000;
/** Changes of membership come in bursts: the routes are worked out once per burst. */
const SYNC_DELAY_MS = 50;
/** Routes are also worked out on this period, to retry descriptions that failed. */
const SYNC_EVERY_MS = 2_000;
/** Names of refused services remembered per cluster, so that each refusal is logged once. */
const MAX_REFUSALS_LOGGED = 1_000;
/** Describe calls in flight at once, each for up to MAX_DESCRIBED services of one member: a gateway learning 10,000 services asks in pages. */
const DESCRIBING_AT_ONCE = 16;
/** How long after withdrawing a service the gateway still tells its callers UNAVAILABLE (no route here now), not NOT_FOUND (ms). */
const WITHDRAWN_GRACE_MS = 10_000;

interface Served {
  /** One per cluster that serves it, cheapest first. */
  routes: readonly Export[];
  /** `routes` encoded, to compare with the next routes worked out. */
  encoded: string;
  stop: () => void;
}

/**
 * A process that is a member of several clusters (one node in each) and
 * advertises into each the services it can reach in the others, with a cost;
 * calls to them are forwarded. Start it with {@link startGateway}.
 */
export class Gateway {
  readonly name: string;
  readonly #options: ResolvedGatewayOptions;
  /** Its member in each cluster, by cluster name. */
  readonly #nodes = new Map<string, Node>();
  readonly #own = new Set<string>();
  readonly #forwarders = new Map<string, Forwarder>();
  /** The routes it could advertise into each cluster, kept up to date change by change. */
  readonly #tables = new Map<string, RouteTable>();
  /** How each cluster's member forwards what its aggregates take, as last worked out. */
  readonly #indexes = new Map<string, AggregateIndex>();
  /** What each cluster is served, by `service@version`. */
  readonly #served = new Map<string, Map<string, Served>>();
  readonly #descriptions = new Map<string, ServiceDescription>();
  /** Services (`service@version`) asked for, or to be asked for, and the members to ask. */
  readonly #describing = new Set<string>();
  readonly #toDescribe = new Map<string, { node: Node; routes: Map<string, Export> }>();
  /** Services refused for their name's length, by cluster: logged once each, not on every pass. */
  readonly #refused = new Map<string, Set<string>>();
  #describeCalls = 0;
  #askQueued = false;
  readonly #stops: Array<() => void> = [];
  /** Services withdrawn from each cluster, and until when their calls are told UNAVAILABLE (ms since the epoch). */
  readonly #withdrawn = new Map<string, Map<string, number>>();
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #closed: Promise<void> | null = null;

  /** Use {@link startGateway}. */
  constructor(options: ResolvedGatewayOptions) {
    this.name = options.name;
    this.#options = options;
  }

  /** The clusters it joins. */
  get clusters(): readonly string[] {
    return this.#options.clusters;
  }

  /** Its member in `cluster` (for its addresses, gossip address, look-up). */
  node(cluster: string): Node {
    const node = this.#nodes.get(cluster);
    if (!node) throw new TypeError(`gateway ${this.name} is not in cluster ${cluster}; it joins ${this.clusters.join(", ")}`);
    return node;
  }

  /** The routes it advertises now, into every cluster or into `cluster`. */
  routes(cluster?: string): AdvertisedRoute[] {
    const out: AdvertisedRoute[] = [];
    for (const [into, served] of this.#served) {
      if (cluster !== undefined && into !== cluster) continue;
      for (const { routes } of served.values()) {
        for (const route of routes) out.push({ cluster: into, service: route.service, version: route.version, cost: route.cost, path: route.path, via: route.via });
      }
    }
    return out;
  }

  /** What its balancers saw of the instances it forwarded calls to, per service and pair of clusters. */
  stats(): ForwardStats[] {
    const now = performance.now();
    return [...this.#forwarders.values()].flatMap((forwarder) => forwarder.stats(now));
  }

  /** Calls `listener` whenever the routes it advertises change; returns the function that stops it. */
  onRoutes(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @internal Joins every cluster, then starts advertising (done by {@link startGateway}). */
  async start(): Promise<void> {
    const options = this.#options;
    const labels = { ...options.labels, [GATEWAY_LABEL]: options.clusters.join(",") };
    for (const cluster of options.clusters) {
      const join = options.join[cluster]!;
      const node = await startNode({
        name: this.name,
        cluster,
        labels,
        listen: join.listen ?? "tcp://127.0.0.1:0",
        ...(join.seeds ? { seeds: join.seeds } : {}),
        lookup: { ...(join.gossip ? { gossip: join.gossip } : {}), ...(options.membership ? { membership: options.membership } : {}) },
        ...(join.clusterKey ? { clusterKey: join.clusterKey } : {}),
        ...(join.token === undefined ? {} : { token: join.token }),
        ...(join.tokens === undefined ? {} : { tokens: join.tokens }),
        ...(join.tls ? { tls: join.tls } : {}),
        ...(join.clientTls ? { clientTls: join.clientTls } : {}),
        ...(join.authorization ? { authorization: join.authorization } : {}),
        ...(join.insecure ? { insecure: true } : {}),
        ...(join.interceptors ? { interceptors: join.interceptors } : {}),
        ...(options.drainTimeout !== undefined ? { drainTimeout: options.drainTimeout } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.traces ? { traces: options.traces } : {}),
      });
      node.serve(GatewayContract, { routes: () => this.routes(), stats: () => this.stats() });
      this.#nodes.set(cluster, node);
      this.#own.add(node.id);
      this.#served.set(cluster, new Map());
      this.#withdrawn.set(cluster, new Map());
    }
    const settings: ForwardSettings = { gateway: this.name, maxHops: options.maxHops, nodes: this.#nodes, own: this.#own, rules: options.rules };
    for (const cluster of options.clusters) {
      this.#tables.set(cluster, new RouteTable(cluster, this.#own, options.cost, options.maxHops));
      const forwarder = new Forwarder(settings, cluster);
      this.#forwarders.set(cluster, forwarder);
      const dispatcher = nodeInternals(this.#nodes.get(cluster)!).dispatcher;
      this.#stops.push(dispatcher.servePassThrough(forwarder.passThrough((service) => this.#takes(cluster, service), (service, range) => this.#indexes.get(cluster)?.routesTo(service, range))));
      // After the aggregates: a name an aggregate still covers is forwarded, not refused.
      this.#stops.push(dispatcher.servePassThrough(forwarder.withdrawn((service) => this.#recentlyWithdrawn(cluster, service))));
      // News of the gateway's own members is what it just advertised: no cause to work routes out again.
      this.#stops.push(this.#nodes.get(cluster)!.onMembership(({ member }) => void (this.#own.has(member.record.id) || this.#schedule())));
    }
    this.#ticker = setInterval(() => this.#schedule(), SYNC_EVERY_MS);
    this.#ticker.unref();
    this.#sync();
  }

  /** Stops advertising, lets calls in flight finish, and leaves every cluster. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearTimeout(this.#timer);
      clearInterval(this.#ticker);
      for (const stop of this.#stops) stop();
      await Promise.all([...this.#nodes.values()].map((node) => node.close()));
    })();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#sync();
    }, SYNC_DELAY_MS);
  }

  /** Works out the routes; a failure is logged (it runs from timers: nothing may escape). */
  #sync(): void {
    try {
      this.#syncRoutes();
    } catch (error) {
      this.#nodes.values().next().value?.logger.warn({ err: error, gateway: this.name }, "working out the routes failed; tried again shortly");
    }
  }

  /** Works out the routes into each cluster and serves, updates or withdraws them. */
  #syncRoutes(): void {
    if (this.#closed) return;
    const views = new Map<string, readonly Member[]>();
    for (const [cluster, node] of this.#nodes) views.set(cluster, node.members());
    let changed = false;
    for (const [cluster, node] of this.#nodes) {
      const table = this.#tables.get(cluster)!;
      table.update(views);
      const { advertised: wanted, index } = aggregate(table.routes, this.#options.aggregates);
      this.#indexes.set(cluster, index);
      const served = this.#served.get(cluster)!;
      const touched = new Set<string>();
      // Withdraw first, then publish costs, then serve: a caller never sees a
      // forwarded service without its route label.
      const withdrawn = this.#withdrawn.get(cluster)!;
      const now = Date.now();
      for (const [service, until] of withdrawn) if (until <= now) withdrawn.delete(service);
      for (const [key, entry] of served) {
        if (wanted.has(key)) continue;
        entry.stop();
        withdrawn.set(entry.routes[0]!.service, now + WITHDRAWN_GRACE_MS);
        served.delete(key);
        touched.add(entry.routes[0]!.service);
      }
      const added: Array<[string, readonly Export[], Contract | null]> = [];
      for (const [key, routes] of wanted) {
        const best = routes[0]!;
        const entry = served.get(key);
        if (entry) {
          // The table gives the same list while its routes stay the same: nothing to encode.
          if (entry.routes === routes) continue;
          const encoded = encodeRoutes(routes);
          if (entry.encoded !== encoded) {
            entry.routes = routes;
            entry.encoded = encoded;
            touched.add(best.service);
          }
          continue;
        }
        if (!this.#fits(cluster, node, best.service)) continue;
        if (isAggregate(best.service)) {
          // Served by the member's pass-through, without a contract.
          added.push([key, routes, null]);
          touched.add(best.service);
          continue;
        }
        const description = this.#descriptions.get(key);
        if (!description) {
          this.#describe(key, best, views.get(best.via) ?? []);
          continue;
        }
        try {
          added.push([key, routes, forwardContract(description)]);
          touched.add(best.service);
        } catch (error) {
          node.logger.warn({ err: error, service: key }, "cannot forward this service");
        }
      }
      if (touched.size === 0) continue;
      changed = true;
      const labels: Record<string, string | undefined> = {};
      const advertised = routesByService([...[...served.values()].map((entry) => entry.routes), ...added.map(([, routes]) => routes)], touched);
      for (const service of touched) {
        const { value, cut } = routeLabelValue(advertised.get(service) ?? []);
        if (cut) node.logger.warn({ service }, `routes to ${service} do not fit in one label; the dearest are left out`);
        labels[ROUTE_LABEL_PREFIX + service] = value;
      }
      node.updateLabels(labels);
      for (const [key, routes, contract] of added) {
        const stop = contract === null ? () => {} : node.serve(contract, this.#forwarders.get(cluster)!.handlers(contract, () => served.get(key)?.routes));
        served.set(key, { routes, encoded: encodeRoutes(routes), stop });
      }
    }
    if (changed) for (const listener of this.#listeners) listener();
  }

  /** Whether the gateway withdrew `service` from `cluster` within the grace: its calls are told UNAVAILABLE. */
  #recentlyWithdrawn(cluster: string, service: string): boolean {
    const until = this.#withdrawn.get(cluster)?.get(service);
    return until !== undefined && until > Date.now();
  }

  /**
   * Whether its member in `cluster` takes calls of `service` under an
   * aggregate: one it advertises there now covers the name. The aggregate
   * is in `#served` only while its label is published, as a service is.
   */
  #takes(cluster: string, service: string): boolean {
    const served = this.#served.get(cluster);
    const patterns = this.#indexes.get(cluster)?.patterns ?? [];
    return served !== undefined && patterns.some((pattern) => covers(pattern, service) && served.has(`${pattern}@${AGGREGATE_VERSION}`));
  }

  /**
   * Whether the look-up can carry a route label for `service`. Route labels
   * travel in the catalog, not in gossip: only a name past the catalog's key
   * length is refused (logged), never the gateway's whole record.
   */
  #fits(cluster: string, node: Node, service: string): boolean {
    if (ROUTE_LABEL_PREFIX.length + service.length + 2 <= CATALOG_LIMITS.key) return true;
    let refused = this.#refused.get(cluster);
    if (!refused) this.#refused.set(cluster, (refused = new Set()));
    // Routes are worked out every 2 s: the refusal is logged once per service, not on every pass.
    if (refused.has(service)) return false;
    if (refused.size >= MAX_REFUSALS_LOGGED) refused.clear();
    refused.add(service);
    node.logger.warn(
      { service: service.slice(0, 64), length: service.length, max: CATALOG_LIMITS.key - ROUTE_LABEL_PREFIX.length - 2 },
      "the service's name is too long for a route; not forwarded",
    );
    return false;
  }

  /** Notes that `key` is to be described by a member that serves it in the route's cluster; asked in pages by {@link #askDescriptions}. */
  #describe(key: string, route: Export, members: readonly Member[]): void {
    if (this.#describing.has(key)) return;
    const node = this.#nodes.get(route.via)!;
    const member = members.find(
      (each) => !this.#own.has(each.record.id) && each.state === "alive" && each.record.services.some(([name, version]) => name === route.service && version === route.version),
    );
    const address = member && reachableAddress(member.record, node.labels.host);
    if (address === undefined) return;
    this.#describing.add(key);
    let batch = this.#toDescribe.get(address);
    if (!batch) this.#toDescribe.set(address, (batch = { node, routes: new Map() }));
    batch.routes.set(key, route);
    if (this.#askQueued) return;
    // Once for all the services noted in this pass.
    this.#askQueued = true;
    queueMicrotask(() => {
      this.#askQueued = false;
      this.#askDescriptions();
    });
  }

  /** Asks each member for the descriptions noted for it, up to {@link MAX_DESCRIBED} services a call, then works out routes again. */
  #askDescriptions(): void {
    for (const [address, batch] of this.#toDescribe) {
      if (this.#describeCalls >= DESCRIBING_AT_ONCE) return;
      const page: Array<[string, Export]> = [];
      for (const entry of batch.routes) {
        if (page.length === MAX_DESCRIBED) break;
        page.push(entry);
      }
      for (const [key] of page) batch.routes.delete(key);
      if (batch.routes.size === 0) this.#toDescribe.delete(address);
      this.#describeCalls++;
      void (async () => {
        try {
          const peer = await batch.node.connect(address, { connectTimeout: DESCRIBE_TIMEOUT_MS });
          const services = [...new Set(page.map(([, route]) => route.service))];
          const described = await peer.client(ReflectionContract).describe({ services }, { timeout: DESCRIBE_TIMEOUT_MS });
          const byKey = new Map((Array.isArray(described) ? described : []).map((entry) => [`${entry?.name}@${entry?.version}`, entry] as const));
          let found = false;
          for (const [key, route] of page) {
            const match = byKey.get(`${route.service}@${route.version}`);
            if (match) {
              this.#descriptions.set(key, match);
              found = true;
            }
          }
          if (found) this.#schedule();
        } catch (error) {
          batch.node.logger.debug({ err: error, services: page.length, address }, "describing services to forward failed; retried later");
        } finally {
          for (const [key] of page) this.#describing.delete(key);
          this.#describeCalls--;
          this.#askDescriptions();
        }
      })();
    }
  }
}

/**
 * Starts a gateway: joins every cluster of `join` and advertises into each
 * the services it can reach in the others, marked with the label
 * `amoeba.gateway` (the clusters it joins) and one `amoeba.route.<service>`
 * label per service (version, cost and path of each route), or one per
 * aggregate (`amoeba.route.shop.*`) for the services its `aggregate` covers.
 *
 * @example
 * const gateway = await startGateway({
 *   name: "gw-1",
 *   join: { core: { seeds: ["udp://10.0.0.5:7946"] }, "region-b": { seeds: ["udp://10.1.0.5:7946"] } },
 *   cost: 1,
 * });
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const gateway = new Gateway(resolveGatewayOptions(options));
  try {
    await gateway.start();
  } catch (error) {
    await gateway.close();
    throw error;
  }
  return gateway;
}
