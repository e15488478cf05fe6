import type { Logger } from "../logger.ts";
import type { LookupSettings } from "../lookup/start-lookup.ts";
import { RegistryContract } from "../lookup/registry/contract.ts";
import type { Instance, LookupChange, LookupOptions, Member, MembershipEvent } from "../lookup/types.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import type { RecentCallsQuery } from "../observe/recent-calls.ts";
import { TracesContract, type RecentCallsReport } from "../observe/traces-contract.ts";
import { StatsContract, type NodeStats } from "../balance/stats-contract.ts";
import type { Engine } from "../engine.ts";
import type { AdmissionStats } from "../rpc/admission.ts";
import type { Client, ClientOptions, Handlers } from "../rpc/context.ts";
import type { Contract } from "../rpc/contract.ts";
import type { Limits } from "../rpc/limits.ts";
import { describeServices, ReflectionContract } from "../rpc/reflection.ts";
import { CatalogContract } from "../lookup/catalog-sync/index.ts";
import { RpcError } from "../rpc/rpc-error.ts";
import type { EventHandler, PayloadOf, TopicRef } from "../rpc/topics.ts";
import { NodeClosedError } from "../transport/errors.ts";
import { guardListen, listen, type ExposureGuard, type Listener, type TlsServerOptions } from "../transport/index.ts";
import { NodeCore } from "./core.ts";
import { clusterKeyOf, lookupSettings, type ConnectOptions, type NodeOptions, type ServeOptions } from "./options.ts";
import type { Peer } from "./peer.ts";

export type { ConnectOptions, NodeOptions, ServeOptions };

let coreOf: (node: Node) => NodeCore;

/**
 * A running node: serves contracts, calls other nodes, publishes and
 * receives events. A facade: its dispatcher runs the calls it serves, its
 * call router places the calls it makes, and its membership view knows the
 * cluster (see docs/architecture.md).
 */
export class Node {
  readonly #core: NodeCore;
  readonly #tls: TlsServerOptions | undefined;
  readonly #exposure: Omit<ExposureGuard, "what">;
  readonly #listeners: Listener[] = [];
  #closed: Promise<void> | null = null;
  #announcing = false;

  static {
    coreOf = (node) => node.#core;
  }

  /** Use {@link startNode}. */
  constructor(options: NodeOptions = {}) {
    const core = new NodeCore(options);
    this.#core = core;
    this.#tls = options.tls;
    this.#exposure = { credentials: options.tls !== undefined || clusterKeyOf(options) !== undefined, insecure: options.insecure === true, remedy: "tls or clusterKey, or set insecure: true" };
    const registry = core.dispatcher.registry;
    core.dispatcher.serveBuiltIn(ReflectionContract, { describe: ({ service, services }) => describeServices(registry, service, services) });
    core.dispatcher.serveBuiltIn(StatsContract, { get: () => this.stats() });
    core.dispatcher.serveBuiltIn(TracesContract, { recent: (query) => this.recentCalls(query) });
    // Members fetch each other's catalogs from here when its gossiped digest changes.
    core.dispatcher.serveBuiltIn(CatalogContract, { fetch: (input, ctx) => core.membership.catalogService(core.name).fetch(input, ctx) });
  }

  /** The node's name. */
  get name(): string {
    return this.#core.name;
  }

  /** The node's unique id (new at every start). */
  get id(): string {
    return this.#core.id;
  }

  /** The cluster it belongs to. */
  get cluster(): string {
    return this.#core.cluster;
  }

  /** Its labels, `host` included. */
  get labels(): Readonly<Record<string, string>> {
    return this.#core.labels;
  }

  /** The limits on what peers may send it. */
  get limits(): Limits {
    return this.#core.limits;
  }

  /** Where it logs; its lines carry the node's name, id and cluster. */
  get logger(): Logger {
    return this.#core.logger;
  }

  /** The node's metrics, when `metrics: true`. */
  get metrics(): NodeMetrics | null {
    return this.#core.metrics;
  }

  /**
   * Changes labels: a key given `undefined` is removed. The look-up spreads the
   * new record to the cluster (gateways publish their routes this way).
   */
  updateLabels(change: Readonly<Record<string, string | undefined>>): void {
    const next: Record<string, string> = { ...this.#core.labels };
    for (const [key, value] of Object.entries(change)) {
      if (value === undefined) delete next[key];
      else next[key] = value;
    }
    // The look-up first: labels it refuses (a RangeError) are not kept either.
    this.#core.membership.update({ labels: next });
    this.#core.labels = Object.freeze(next);
  }

  /** The addresses it listens on, with real ports. */
  get addresses(): string[] {
    return this.#listeners.map((listener) => listener.address);
  }

  /** The deadline of calls that set none, in ms. */
  get defaultTimeout(): number | undefined {
    return this.#core.defaultTimeout;
  }

  /** True once `close()` began. */
  get draining(): boolean {
    return this.#core.dispatcher.draining;
  }

  /** Starts listening on an address (also done by `startNode({ listen })`). */
  async listen(address: string): Promise<string> {
    this.#assertOpen();
    const core = this.#core;
    await guardListen(address, { ...this.#exposure, what: `node ${core.name}` }, (line) => core.logger.warn({ address }, line));
    const listener = await listen(
      address,
      { limits: core.limits, tls: this.#tls },
      (connection) => {
        if (core.dispatcher.draining) connection.destroy();
        else core.connections.accept(connection);
      },
      core.engine?.transports,
    );
    this.#listeners.push(listener);
    core.connections.startSweeper();
    core.membership.update({ addresses: this.addresses });
    return listener.address;
  }

  /**
   * Serves a contract with its handlers. Returns the function that stops serving it.
   *
   * @param options.concurrency how many calls of this contract run at once;
   *   past it, calls are refused with RESOURCE_EXHAUSTED, unprocessed. A
   *   positive integer; a TypeError otherwise. Default: no limit of its own.
   * @param options.interceptors server interceptors of this contract's calls,
   *   inside the node's own (see docs/interceptors.md).
   */
  serve<C extends Contract>(contract: C, handlers: Handlers<C>, options: ServeOptions = {}): () => void {
    this.#assertOpen();
    const stop = this.#core.dispatcher.serve(contract, handlers, options);
    try {
      this.#announce();
    } catch (error) {
      // The look-up refused it (a limit): not served, rather than served unannounced.
      stop();
      throw error;
    }
    return () => {
      stop();
      this.#announce();
    };
  }

  /**
   * A snapshot of the calls this node runs and sheds: node-wide (`inFlight`,
   * `limit` — `Infinity` when none —, `shed` since start) and the same per
   * contract served with {@link serve}, keyed `name@version`.
   */
  get admission(): AdmissionStats {
    return this.#core.admission;
  }

  /** Joins the look-up service the settings name (done by `startNode` when asked). */
  async joinLookup(settings: Omit<LookupSettings, "cluster">): Promise<void> {
    this.#assertOpen();
    const core = this.#core;
    await core.membership.join(
      { ...settings, cluster: core.cluster },
      { id: core.id, name: core.name, cluster: core.cluster, addresses: this.addresses, labels: { ...core.labels }, services: core.registry.list(), load: 0 },
      {
        logger: core.logger,
        registryClient: (address) => core.connections.link(address, core.dialOptions(address)).peer.client(RegistryContract),
        fetchCatalog: (address, request, signal) => core.connections.link(address, core.dialOptions(address)).peer.client(CatalogContract).fetch(request, { signal }),
        methods: () => {
          const byKey = new Map(core.registry.contracts().map((c) => [`${c.name}@${c.version}`, Object.keys(c.methods)]));
          return (name, version) => byKey.get(`${name}@${version}`) ?? [];
        },
        ...(core.engine?.createLookup ? { backend: core.engine.createLookup.bind(core.engine) } : {}),
        dead: (id, name) => core.connections.closeTo(id, `the look-up declared node ${name} dead`),
        load: () => core.dispatcher.admission.inFlight,
        changed: (type) => core.metrics?.membershipChanged(type),
      },
    );
  }

  /** The live instances of a service, from the look-up (empty when the node joined none). */
  lookup(service: Contract | string, options: LookupOptions = {}): Instance[] {
    return this.#core.membership.lookup(typeof service === "string" ? service : service.name, options);
  }

  /** Changes to the instances of a service: each current one as "added", then changes, until `signal` aborts. */
  watch(service: Contract | string, options: LookupOptions & { signal?: AbortSignal } = {}): AsyncIterable<LookupChange> {
    return this.#core.membership.watch(typeof service === "string" ? service : service.name, options, options.signal, this.name);
  }

  /**
   * Calls `listener` on every change of the membership this node sees: a member
   * joins, updates its record, is suspected, dies, leaves or comes back.
   * Returns the function that stops it.
   */
  onMembership(listener: (event: MembershipEvent) => void): () => void {
    return this.#core.membership.onMembership(listener, this.name);
  }

  /** Every member of the cluster this node knows, itself included, with its state. */
  members(): Member[] {
    return this.#core.membership.members();
  }

  /** This node's gossip address, when it gossips (a seed for others). */
  get gossipAddress(): string | undefined {
    return this.#core.membership.gossipAddress;
  }

  /**
   * A typed client. Calls go to this node when it serves the contract, else
   * to an instance the look-up or a connection made by hand knows, chosen by
   * the balancer. They pass the node's client interceptors, then the client's
   * own (`options.interceptors`).
   */
  client<C extends Contract>(contract: C, options: ClientOptions = {}): Client<C> {
    return this.#core.createClient(contract, options);
  }

  /**
   * The calls this node made and served lately, newest first (all of one trace
   * with `traceId`), when it keeps them (`traces: { recent: n }`); the built-in
   * `amoeba.traces` service answers the same to other nodes and tools.
   */
  recentCalls(query: RecentCallsQuery = {}): RecentCallsReport {
    const core = this.#core;
    return { node: core.name, nodeId: core.id, cluster: core.cluster, capacity: core.recentCalls?.capacity ?? 0, calls: core.recentCalls?.list(query) ?? [] };
  }

  /** The metrics in Prometheus's text format, or undefined when the node keeps none (`metrics: true`). */
  metricsText(): string | undefined {
    return this.#core.metrics?.render();
  }

  /**
   * What this node's balancers see of the instances they call (calls in flight,
   * peak-EWMA latency, error rate, ejection), and what it serves.
   */
  stats(): NodeStats {
    const core = this.#core;
    const now = performance.now();
    return {
      node: core.name,
      nodeId: core.id,
      services: core.balancers.stats(now),
      server: core.admission,
      ...(core.metrics ? { methods: core.metrics.servedMethods() } : {}),
    };
  }

  /** Dials another node. The connection is kept and reused; its services become reachable by `client()`. */
  async connect(address: string, options: ConnectOptions = {}): Promise<Peer> {
    this.#assertOpen();
    const core = this.#core;
    const link = core.connections.link(address, options.tls === undefined ? { ...options, ...core.dialOptions(address) } : options);
    await link.session();
    return link.peer;
  }

  /** Publishes an event to local subscribers and every connected node that subscribed. */
  publish<T extends TopicRef>(topic: T, payload: PayloadOf<T>): void {
    this.#core.publish(topic, payload);
  }

  /** Receives events on a topic; returns the function that stops receiving. */
  subscribe<T extends TopicRef>(topic: T, handler: EventHandler<PayloadOf<T>>): () => void {
    return this.#core.subscribe(topic, handler);
  }

  /**
   * Stops gracefully: refuses new calls (UNAVAILABLE, not processed — safe to
   * retry), tells peers, lets calls in flight finish within `drainTimeout`,
   * then closes every connection.
   */
  close(options: { timeout?: number } = {}): Promise<void> {
    this.#closed ??= this.#drain(options.timeout ?? this.#core.drainTimeout);
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #announce(): void {
    this.#core.membership.update({ services: this.#core.registry.list() });
    // Connections hear the list once per task, however many contracts were served in it.
    if (this.#announcing) return;
    this.#announcing = true;
    queueMicrotask(() => {
      this.#announcing = false;
      this.#core.connections.announce(this.#core.registry.list());
    });
  }

  async #drain(timeout: number): Promise<void> {
    const core = this.#core;
    const { connections, dispatcher } = core;
    dispatcher.draining = true;
    await Promise.all(this.#listeners.map((listener) => listener.close()));
    connections.goAway(`node ${core.name} is draining`);
    // Leave the look-up first: others stop choosing this node at once, and a
    // registry watch (a call that never ends by itself) does not hold the drain.
    await core.membership.leave().catch((error: unknown) => core.logger.warn({ err: error }, "leaving the look-up failed"));
    const allIdle = Promise.all([connections.idle(), dispatcher.localIdle()]);
    let timer: NodeJS.Timeout | undefined;
    const expired = await Promise.race([
      allIdle.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeout);
      }),
    ]);
    clearTimeout(timer);
    if (expired) {
      connections.stopIncoming(
        new RpcError("UNAVAILABLE", `node ${core.name} stopped before the call finished (drain timeout ${timeout} ms); it may have run`, { node: core.name }),
      );
    }
    await Promise.all([...core.closing].map((step) => step().catch((error: unknown) => core.logger.warn({ err: error }, "a closing step failed"))));
    await connections.closeAll(`node ${core.name} closed`);
    await core.engine?.close().catch((error: unknown) => core.logger.warn({ err: error }, "stopping the engine failed"));
  }

  #assertOpen(): void {
    if (this.#core.dispatcher.draining) throw new NodeClosedError(this.name);
  }
}

/**
 * @internal The parts behind a node, for Amoeba's own layers above it
 * (gateways, the edge, the dashboard); not part of the public API.
 */
export function nodeInternals(node: Node): NodeCore {
  return coreOf(node);
}

/** Starts the engine of a node and listens on its addresses. */
async function startEngine(node: Node, engine: Engine): Promise<void> {
  const core = coreOf(node);
  if (core.engine) throw new Error(`node ${core.name} already runs on an engine`);
  core.engine = await engine.start(core);
  for (const topic of core.subscribedTopics()) core.engine.events?.subscribe(topic);
  for (const address of core.engine.listen) await node.listen(address);
}

/** Starts a node: listens on the given addresses and returns it ready to serve and call. */
export async function startNode(options: NodeOptions = {}): Promise<Node> {
  const node = new Node(options);
  const addresses = options.listen === undefined ? [] : Array.isArray(options.listen) ? options.listen : [options.listen];
  try {
    if (options.engine) await startEngine(node, options.engine);
    for (const address of addresses) await node.listen(address);
    const lookup = lookupSettings(options);
    if (lookup) await node.joinLookup(lookup);
  } catch (error) {
    await node.close({ timeout: 0 });
    throw error;
  }
  return node;
}

/**
 * Connects to one node at `address` without serving anything: the plain
 * client-server arrangement. Closing the returned peer closes everything.
 */
export async function connect(address: string, options: ConnectOptions & Omit<NodeOptions, "listen" | "tls"> = {}): Promise<Peer> {
  const { tls: _tls, connectTimeout: _connectTimeout, ...nodeOptions } = options;
  const node = new Node({ name: `client-${process.pid}`, ...nodeOptions });
  try {
    // An address of an engine's scheme (nats://…) is dialed through that engine.
    if (nodeOptions.engine) await startEngine(node, nodeOptions.engine);
    const peer = await node.connect(address, options);
    return Object.assign(bindPeer(peer), { close: () => node.close() });
  } catch (error) {
    await node.close({ timeout: 0 });
    throw error;
  }
}

function bindPeer(peer: Peer): Peer {
  return {
    get address() {
      return peer.address;
    },
    get remote() {
      return peer.remote;
    },
    get services() {
      return peer.services;
    },
    client: peer.client.bind(peer),
    publish: peer.publish.bind(peer),
    subscribe: peer.subscribe.bind(peer),
    close: peer.close.bind(peer),
  };
}
