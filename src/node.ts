import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { childLogger, createStderrLogger, type Logger } from "./logger.ts";
import { createCallTracer, createRecentCalls } from "./observe/call-tracer.ts";
import type { RecentCalls, RecentCallsQuery } from "./observe/recent-calls.ts";
import { TracesContract, type RecentCallsReport } from "./observe/traces-contract.ts";
import type { CallObserver } from "./rpc/call-observer.ts";
import type { Peer } from "./peer.ts";
import { Admission, ServiceGate, type AdmissionStats } from "./rpc/admission.ts";
import type { CallStream } from "./rpc/call-stream.ts";
import { balancedCall } from "./balance/balanced-call.ts";
import { choosesInstance, resolvePolicy, type ResolvedPolicy } from "./balance/policy.ts";
import { NodeBalancers } from "./balance/node-balancers.ts";
import type { ServiceBalancer, TargetSource } from "./balance/service-balancer.ts";
import { StatsContract, type NodeStats } from "./balance/stats-contract.ts";
import { NodeMetrics, type MetricsSources } from "./metrics/node-metrics.ts";
import { Locality, type TargetInfo } from "./balance/target.ts";
import { createClient, type ClientOptions } from "./rpc/client.ts";
import type { Client, Contract, Handlers, Topic } from "./rpc/contract.ts";
import type { CallerInfo } from "./rpc/context.ts";
import { InFlight } from "./rpc/in-flight.ts";
import { LocalUnaryCall } from "./rpc/local-call.ts";
import { PeerLink } from "./peer-link.ts";
import { routeOf } from "./route/route-label.ts";
import { Router } from "./route/router.ts";
import { parseRouteRules, ROUTE_META } from "./route/rules.ts";
import { startLookup, type LookupHandle, type LookupSettings } from "./lookup/start-lookup.ts";
import { reachableAddress } from "./lookup/reachable.ts";
import { RegistryContract } from "./lookup/registry/contract.ts";
import { CatalogContract } from "./lookup/catalog-sync/index.ts";
import type { Instance, LookupChange, LookupOptions, Member, MembershipEvent } from "./lookup/types.ts";
import { describeServices, ReflectionContract } from "./rpc/reflection.ts";
import { resolveLimits, type Limits } from "./rpc/limits.ts";
import type { CallRequest } from "./rpc/outgoing-call.ts";
import { ServiceRegistry, type Endpoint } from "./rpc/registry.ts";
import { RpcError } from "./rpc/rpc-error.ts";
import { failedStream, Session, type SessionHost } from "./rpc/session.ts";
import { TopicTable, type EventHandler, type PayloadOf, type TopicRef } from "./rpc/topics.ts";
import { compatibleRange, satisfies } from "./rpc/version.ts";
import { createInprocPair, dial, listen, type Connection, type Listener, type TlsClientOptions, type TlsServerOptions } from "./transport/index.ts";
import type { Engine, EngineHost, RunningEngine } from "./engine.ts";
import { lookupSettings, type ConnectOptions, type NodeOptions, type ServeOptions } from "./node-options.ts";

export type { ConnectOptions, NodeOptions, ServeOptions };

/** A running node: serves contracts, calls other nodes, publishes and receives events. */
export class Node implements SessionHost, TargetSource, EngineHost {
  readonly nodeId = randomUUID();
  readonly nodeName: string;
  readonly cluster: string;
  #labels: Readonly<Record<string, string>>;
  readonly limits: Limits;
  readonly dev: boolean;
  readonly validateInput: boolean;
  readonly validateOutput: boolean;
  readonly registry = new ServiceRegistry();
  /** @internal Admits or sheds incoming calls; read the counts with {@link admission}. */
  readonly admissionControl: Admission;
  readonly logger: Logger;
  /** The node's metrics, when `metrics: true`. */
  readonly metrics: NodeMetrics | null;
  /** @internal The node's tracing (spans, the recent-calls ring), when `traces` asks for any. */
  readonly callObserver: CallObserver | null;
  readonly #recentCalls: RecentCalls | null;
  /** Bytes of connections that closed, so that the totals never go down. */
  #closedBytes = { in: 0, out: 0 };
  readonly #defaultTimeout: number | undefined;
  readonly #drainTimeout: number;
  readonly #tls: TlsServerOptions | undefined;
  readonly #clientTls: TlsClientOptions | undefined;
  readonly #listeners: Listener[] = [];
  readonly #sessions = new Set<Session>();
  readonly #peers = new Map<string, PeerLink>();
  readonly #topics = new TopicTable();
  #local: Session | null = null;
  #localServer: Session | null = null;
  #draining = false;
  #closed: Promise<void> | null = null;
  #sweeper: NodeJS.Timeout | null = null;
  /** Grows whenever instances may have come or gone: balancers then refresh their lists. */
  #epoch = 0;
  /** One balancer per service, version range and labels, shared by the node's clients. */
  readonly #balancers: NodeBalancers;
  /** Applies route rules, configured or in a call's metadata. */
  readonly #router: Router;
  #lookup: LookupHandle | null = null;
  #engine: RunningEngine | null = null;
  /** Node ids the look-up declared dead or gone: no call goes there, whatever connection is still open. */
  readonly #goneIds = new Set<string>();
  #loadTimer: NodeJS.Timeout | null = null;
  /** Unary calls to this node's own services in flight (they use no session). */
  readonly #localCalls = new InFlight();
  readonly #selfInfo: CallerInfo;

  /** Use {@link startNode}. */
  constructor(options: NodeOptions = {}) {
    this.nodeName = options.name ?? `${hostname()}-${process.pid}`;
    this.cluster = options.cluster ?? "default";
    this.#labels = Object.freeze({ host: hostname(), ...options.labels });
    this.limits = resolveLimits(options.limits);
    this.admissionControl = new Admission(this.nodeName, options.concurrency);
    this.dev = options.dev ?? false;
    this.validateInput = options.validate?.input ?? true;
    this.validateOutput = options.validate?.output ?? this.dev;
    this.#defaultTimeout = options.defaultTimeout ?? 30_000;
    this.#drainTimeout = options.drainTimeout ?? 10_000;
    this.#tls = options.tls;
    this.#clientTls = options.clientTls;
    this.#router = new Router(
      parseRouteRules(options.routes ?? []),
      this,
      (service, range) => this.lookup(service, range === null ? {} : { version: range }),
      (service, range, source) => this.#balancers.over(service, range, source),
    );
    // Every line the node writes says which node wrote it.
    this.logger = childLogger(options.logger ?? createStderrLogger({}), { node: this.nodeName, node_id: this.nodeId, cluster: this.cluster });
    this.#recentCalls = createRecentCalls(options.traces);
    this.callObserver = createCallTracer(options.traces, this.#recentCalls);
    this.metrics = options.metrics ? new NodeMetrics(this.#metricsSources()) : null;
    this.#balancers = new NodeBalancers(this, { ...options.balance, random: Math.random, metrics: this.metrics });
    this.#selfInfo = { id: this.nodeId, name: this.nodeName, address: "inproc://self" };
    this.registry.add(ReflectionContract, { describe: ({ service }) => describeServices(this.registry, service) });
    this.registry.add(StatsContract, { get: () => this.stats() });
    this.registry.add(TracesContract, { recent: (query) => this.recentCalls(query) });
    // Members fetch each other's catalogs from here when its gossiped digest changes.
    this.registry.add(CatalogContract, { fetch: (input, ctx) => this.#catalogService().fetch(input, ctx) });
  }

  /** The node's name. */
  get name(): string {
    return this.nodeName;
  }

  /** The node's unique id (new at every start). */
  get id(): string {
    return this.nodeId;
  }

  /** Its labels, `host` included. */
  get labels(): Readonly<Record<string, string>> {
    return this.#labels;
  }

  /**
   * Changes labels: a key given `undefined` is removed. The look-up spreads the
   * new record to the cluster (gateways publish their routes this way).
   */
  updateLabels(change: Readonly<Record<string, string | undefined>>): void {
    const next: Record<string, string> = { ...this.#labels };
    for (const [key, value] of Object.entries(change)) {
      if (value === undefined) delete next[key];
      else next[key] = value;
    }
    // The look-up first: labels it refuses (a RangeError) are not kept either.
    this.#lookup?.backend.update({ labels: next });
    this.#labels = Object.freeze(next);
  }

  /** The addresses it listens on, with real ports. */
  get addresses(): string[] {
    return this.#listeners.map((listener) => listener.address);
  }

  /** The deadline of calls that set none, in ms. */
  get defaultTimeout(): number | undefined {
    return this.#defaultTimeout;
  }

  /** True once `close()` began. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Starts listening on an address (also done by `startNode({ listen })`). */
  async listen(address: string): Promise<string> {
    this.#assertOpen();
    const listener = await listen(
      address,
      { limits: this.limits, tls: this.#tls },
      (connection) => {
        if (this.#draining) {
          connection.destroy();
          return;
        }
        this.#track(new Session(connection, this, "acceptor"));
      },
      this.#engine?.transports,
    );
    this.#listeners.push(listener);
    this.#startSweeper();
    this.#lookup?.backend.update({ addresses: this.addresses });
    return listener.address;
  }

  /**
   * Serves a contract with its handlers. Returns the function that stops serving it.
   *
   * @param options.concurrency how many calls of this contract run at once;
   *   past it, calls are refused with RESOURCE_EXHAUSTED, unprocessed. A
   *   positive integer; a TypeError otherwise. Default: no limit of its own.
   */
  serve<C extends Contract>(contract: C, handlers: Handlers<C>, options: ServeOptions = {}): () => void {
    this.#assertOpen();
    const gate = new ServiceGate(contract.name, contract.version, options.concurrency);
    const remove = this.registry.add(contract, handlers, gate);
    const untrack = this.admissionControl.track(gate);
    try {
      this.#announce();
    } catch (error) {
      // The look-up refused it (a limit): not served, rather than served unannounced.
      remove();
      untrack();
      throw error;
    }
    return () => {
      remove();
      untrack();
      this.#announce();
    };
  }

  /**
   * A snapshot of the calls this node runs and sheds: node-wide (`inFlight`,
   * `limit` — `Infinity` when none —, `shed` since start) and the same per
   * contract served with {@link serve}, keyed `name@version`.
   */
  get admission(): AdmissionStats {
    return this.admissionControl.stats();
  }

  /** Joins the look-up service the settings name (done by `startNode` when asked). */
  async joinLookup(settings: Omit<LookupSettings, "cluster">): Promise<void> {
    this.#assertOpen();
    if (this.#lookup) throw new Error(`node ${this.nodeName} already joined a look-up`);
    this.#lookup = await startLookup(
      { ...settings, cluster: this.cluster },
      {
        id: this.nodeId,
        name: this.nodeName,
        cluster: this.cluster,
        addresses: this.addresses,
        labels: { ...this.labels },
        services: this.registry.list(),
        load: 0,
      },
      {
        registryClient: (address) => this.#link(address).peer.client(RegistryContract),
        fetchCatalog: (address, request, signal) => this.#link(address).peer.client(CatalogContract).fetch(request, { signal }),
        methods: () => {
          const byKey = new Map(this.registry.contracts().map((c) => [`${c.name}@${c.version}`, Object.keys(c.methods)]));
          return (name, version) => byKey.get(`${name}@${version}`) ?? [];
        },
        logger: this.logger,
        ...(this.#engine?.createLookup ? { backend: this.#engine.createLookup.bind(this.#engine) } : {}),
      },
    );
    this.#lookup.backend.on(({ type, member }) => {
      this.#epoch++;
      this.metrics?.membershipChanged(type);
      const id = member.record.id;
      if (type === "dead" || type === "left") {
        this.#goneIds.add(id);
        // A partition leaves TCP connections open but silent: close them, so
        // calls in flight fail fast and the next ones go elsewhere.
        if (type === "dead") {
          for (const session of this.#sessions) if (session.remoteInfo.id === id) session.close(`the look-up declared node ${member.record.name} dead`);
        }
      } else if (type === "alive" || type === "join") {
        this.#goneIds.delete(id);
      }
    });
    // Spread the load figure, but only when it changed: each update is gossip.
    let lastLoad = 0;
    this.#loadTimer = setInterval(() => {
      const load = this.admissionControl.inFlight;
      if (load !== lastLoad) {
        lastLoad = load;
        this.#lookup?.backend.update({ load });
      }
    }, 1_000);
    this.#loadTimer.unref();
  }

  /** The live instances of a service, from the look-up (empty when the node joined none). */
  lookup(service: Contract | string, options: LookupOptions = {}): Instance[] {
    const name = typeof service === "string" ? service : service.name;
    return this.#lookup?.catalog.lookup(name, options) ?? [];
  }

  /** Changes to the instances of a service: each current one as "added", then changes, until `signal` aborts. */
  watch(service: Contract | string, options: LookupOptions & { signal?: AbortSignal } = {}): AsyncIterable<LookupChange> {
    const name = typeof service === "string" ? service : service.name;
    if (!this.#lookup) throw new Error(`node ${this.nodeName} joined no look-up; start it with a cluster, seeds or a registry`);
    return this.#lookup.catalog.watch(name, options, options.signal);
  }

  /**
   * Calls `listener` on every change of the membership this node sees: a member
   * joins, updates its record, is suspected, dies, leaves or comes back.
   * Returns the function that stops it.
   */
  onMembership(listener: (event: MembershipEvent) => void): () => void {
    if (!this.#lookup) throw new Error(`node ${this.nodeName} joined no look-up; start it with a cluster, seeds or a registry`);
    return this.#lookup.backend.on(listener);
  }

  /** Every member of the cluster this node knows, itself included, with its state. */
  members(): Member[] {
    return this.#lookup?.backend.members() ?? [];
  }

  /** This node's gossip address, when it gossips (a seed for others). */
  get gossipAddress(): string | undefined {
    return this.#lookup?.gossip;
  }

  /**
   * A typed client. Calls go to this node when it serves the contract, else
   * to a connected node that does.
   */
  client<C extends Contract>(contract: C, options: ClientOptions = {}): Client<C> {
    const base = resolvePolicy(options.balance);
    const policies = new Map<string, ResolvedPolicy>();
    for (const [method, policy] of Object.entries(options.methods ?? {})) {
      if (!Object.hasOwn(contract.methods, method)) throw new TypeError(`client options name method ${method}, which ${contract.name} does not have`);
      policies.set(method, resolvePolicy(policy, base));
    }
    const range = options.version ?? compatibleRange(contract.version);
    const balancer = this.#balancers.of(contract.name, range, options.labels);
    return createClient(
      contract,
      (request) => this.#invokeAnywhere(request, balancer, policies.get(request.method) ?? base),
      options,
      this.#defaultTimeout,
      this.callObserver,
    );
  }

  /**
   * The calls this node made and served lately, newest first (all of one trace
   * with `traceId`), when it keeps them (`traces: { recent: n }`); the built-in
   * `amoeba.traces` service answers the same to other nodes and tools.
   */
  recentCalls(query: RecentCallsQuery = {}): RecentCallsReport {
    return {
      node: this.nodeName,
      nodeId: this.nodeId,
      cluster: this.cluster,
      capacity: this.#recentCalls?.capacity ?? 0,
      calls: this.#recentCalls?.list(query) ?? [],
    };
  }

  /** The metrics in Prometheus's text format, or undefined when the node keeps none (`metrics: true`). */
  metricsText(): string | undefined {
    return this.metrics?.render();
  }

  #metricsSources(): MetricsSources {
    return {
      inFlight: () => {
        const stats = this.admission;
        return [[["", ""], stats.inFlight], ...Object.values(stats.services).map((s): [string[], number] => [[s.service, s.version], s.inFlight])];
      },
      shed: () => Object.values(this.admission.services).map((s): [string[], number] => [[s.service, s.version], s.shed]),
      members: () => {
        const counts = new Map<string, number>();
        for (const member of this.members()) counts.set(member.state, (counts.get(member.state) ?? 0) + 1);
        return [...counts].map(([state, count]): [string[], number] => [[state], count]);
      },
      balancers: () => {
        const now = performance.now();
        return this.#balancers.totals(now);
      },
      bytes: () => {
        const bytes = { ...this.#closedBytes };
        for (const session of this.#sessions) {
          bytes.in += session.bytesIn;
          bytes.out += session.bytesOut;
        }
        return bytes;
      },
    };
  }

  /**
   * What this node's balancers see of the instances they call (calls in flight,
   * peak-EWMA latency, error rate, ejection), and what it serves.
   */
  stats(): NodeStats {
    const now = performance.now();
    return {
      node: this.nodeName,
      nodeId: this.nodeId,
      services: this.#balancers.stats(now),
      server: this.admission,
      ...(this.metrics ? { methods: this.metrics.servedMethods() } : {}),
    };
  }

  /** @internal Used by handler contexts. */
  createClient<C extends Contract>(contract: C, options: ClientOptions): Client<C> {
    return this.client(contract, options);
  }

  /** Dials another node. The connection is kept and reused; its services become reachable by `client()`. */
  async connect(address: string, options: ConnectOptions = {}): Promise<Peer> {
    this.#assertOpen();
    let link = this.#peers.get(address);
    if (!link) {
      link = new PeerLink(this, address, options.tls === undefined ? { ...options, ...this.#dialOptions(address) } : options);
      this.#peers.set(address, link);
    }
    await link.session();
    return link.peer;
  }

  /** Publishes an event to local subscribers and every connected node that subscribed. */
  publish<T extends TopicRef>(topic: T, payload: PayloadOf<T>): void {
    const name = typeof topic === "string" ? topic : (topic as Topic).topic;
    for (const session of this.#sessions) {
      if (session !== this.#local && session !== this.#localServer) session.publish(name, payload);
    }
    if (this.#topics.has(name)) queueMicrotask(() => this.#topics.deliver(name, payload, this.nodeName, this.#reportEventError));
  }

  /** Receives events on a topic; returns the function that stops receiving. */
  subscribe<T extends TopicRef>(topic: T, handler: EventHandler<PayloadOf<T>>): () => void {
    const { first, remove } = this.#topics.add(topic, handler as EventHandler<any>);
    const name = typeof topic === "string" ? topic : (topic as Topic).topic;
    if (first) for (const session of this.#sessions) session.updateSubscription(name, true);
    return () => {
      if (remove()) for (const session of this.#sessions) session.updateSubscription(name, false);
    };
  }

  /**
   * Stops gracefully: refuses new calls (UNAVAILABLE, not processed — safe to
   * retry), tells peers, lets calls in flight finish within `drainTimeout`,
   * then closes every connection.
   */
  close(options: { timeout?: number } = {}): Promise<void> {
    this.#closed ??= this.#drain(options.timeout ?? this.#drainTimeout);
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // --- SessionHost ---------------------------------------------------------

  subscribedTopics(): string[] {
    return this.#topics.topics();
  }

  deliverEvent(topic: string, payload: unknown, from: Session): void {
    if (from === this.#local || from === this.#localServer) return;
    this.#topics.deliver(topic, payload, from.remoteInfo.name, this.#reportEventError);
  }

  sessionReady(_session: Session): void {
    this.#epoch++;
  }

  sessionServicesChanged(_session: Session): void {
    this.#epoch++;
  }

  sessionClosed(session: Session): void {
    this.#epoch++;
    this.#sessions.delete(session);
    this.#closedBytes.in += session.bytesIn;
    this.#closedBytes.out += session.bytesOut;
    if (session === this.#local || session === this.#localServer) {
      this.#local = null;
      this.#localServer = null;
    }
  }

  // --- engine ---------------------------------------------------------------

  /** @internal Starts the engine and listens on its addresses (done by `startNode({ engine })`). */
  async startEngine(engine: Engine): Promise<void> {
    this.#assertOpen();
    if (this.#engine) throw new Error(`node ${this.nodeName} already runs on an engine`);
    this.#engine = await engine.start(this);
    for (const address of this.#engine.listen) await this.listen(address);
  }

  /** @internal Dials an address, through the engine when its scheme is the engine's. */
  dialConnection(address: string, options: ConnectOptions): Promise<Connection> {
    return dial(address, { limits: this.limits, tls: options.tls, connectTimeout: options.connectTimeout }, this.#engine?.transports);
  }

  /** @internal Runs a unary call of a service served here, for an engine's plain requests ({@link EngineHost}). */
  callServed(request: CallRequest, caller: CallerInfo): Promise<unknown> {
    if (this.#draining) return refuse(request, `node ${this.nodeName} is closing; not processed — safe to retry`) as Promise<unknown>;
    return this.#callLocally(request, undefined, caller);
  }

  // --- internals -----------------------------------------------------------

  /** @internal */
  track(session: Session): void {
    this.#track(session);
  }

  #track(session: Session): void {
    this.#sessions.add(session);
    session.ready.catch((error: Error) => this.logger.debug({ err: error, remote: session.remoteInfo.address }, "handshake failed"));
  }

  #invokeAnywhere(request: CallRequest, balancer: ServiceBalancer, policy: ResolvedPolicy): Promise<unknown> | CallStream<unknown> {
    // One registry probe on the hot path: the endpoint itself, when served here
    // (a second only when the service is here but the method is not).
    const endpoint = this.registry.lookup(request.service, request.method, request.version);
    if (endpoint || (this.registry.servesName(request.service) && this.registry.has(request.service, request.version))) {
      if (this.#draining) return refuse(request, `node ${this.nodeName} is closing; not processed — safe to retry`);
      if (request.kind === "unary") return this.#callLocally(request, endpoint);
      return this.#localSession().call(request);
    }
    // Route rules (configured, or in the call's metadata) may call for another balancer.
    if (this.#router.configured || request.meta?.[ROUTE_META] !== undefined) {
      const routed = this.#router.balancerFor(request, balancer);
      if (routed instanceof RpcError) return request.kind === "unary" || request.kind === "client-stream" ? Promise.reject(routed) : failedStream(routed);
      balancer = routed;
    }
    // An engine that balances by itself (NATS queue groups) takes the unary
    // calls whose strategy leaves it the choice of instance.
    if (request.kind === "unary" && this.#engine?.group && !choosesInstance(policy.strategy)) {
      const group = this.#balancers.group(balancer, this.#engine);
      if (group) return balancedCall(group, policy, request, () => this.#noInstance(request));
    }
    // Elsewhere: the balancer picks among the instances the look-up knows
    // and the connections made by hand.
    return balancedCall(balancer, policy, request, () => this.#noInstance(request));
  }

  #noInstance(request: CallRequest): RpcError {
    return new RpcError(
      "UNAVAILABLE",
      `${request.service}.${request.method}: no instance of ${request.service}@${request.version ?? "*"} is known to node ${this.nodeName}` +
        `${this.#knownVersions(request.service)}; serve it here, or connect to a node that serves it (node.connect(address))`,
      { service: request.service, method: request.method, unprocessed: true },
    );
  }

  /** @internal The route rules this node applies ({@link Router}), for explaining where calls go. */
  get router(): Router {
    return this.#router;
  }

  /** @internal Grows whenever instances may have come or gone ({@link TargetSource}). */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * @internal The instances of a service this node can reach: those the look-up
   * knows (by locality), then connections made by hand to nodes it does not know.
   */
  collectTargets(service: string, range: string | null, labels: Readonly<Record<string, string>> | undefined, into: (info: TargetInfo) => void): void {
    const seen = new Set<string>([this.nodeId]);
    for (const instance of this.#lookup?.catalog.lookup(service, { ...(range === null ? {} : { version: range }), ...(labels ? { labels } : {}) }) ?? []) {
      const id = instance.node.id;
      if (seen.has(id) || instance.addresses.length === 0 || this.#goneIds.has(id)) continue;
      seen.add(id);
      const address = reachableAddress(instance, this.labels.host)!;
      const link = this.#link(address);
      const sameHost = instance.labels.host !== undefined && instance.labels.host === this.labels.host;
      // A gateway's instance is a route to another cluster: never as near as a real one.
      const route = routeOf(instance);
      into({
        id,
        name: instance.node.name,
        address,
        tier: route ? Locality.gateway : sameHost ? Locality.host : instance.node.cluster === this.cluster ? Locality.cluster : Locality.gateway,
        routeCost: route?.cost ?? 0,
        suspect: instance.state === "suspect",
        invoke: (request) => link.invoke(request),
        connected: () => link.connected,
      });
    }
    if (labels) return;
    for (const session of this.#sessions) {
      if (session === this.#local || session === this.#localServer || !session.usable) continue;
      const id = session.remoteInfo.id;
      if (seen.has(id) || this.#goneIds.has(id)) continue;
      if (!session.remoteServices.some(([name, version]) => name === service && (range === null || satisfies(version, range)))) continue;
      seen.add(id);
      into({ id, name: session.remoteInfo.name, address: session.remoteInfo.address, tier: Locality.cluster, suspect: false, invoke: (request) => session.call(request) });
    }
  }

  #callLocally(request: CallRequest, found: Endpoint | undefined, caller: CallerInfo = this.#selfInfo): Promise<unknown> {
    const endpoint = found ?? this.registry.find(request.service, request.method, request.version, this.nodeName);
    if (endpoint instanceof RpcError) return Promise.reject(endpoint);
    if (endpoint.def.kind !== "unary") {
      return Promise.reject(
        new RpcError("FAILED_PRECONDITION", `${request.service}.${request.method} on node ${this.nodeName} is a ${endpoint.def.kind} method; the caller expected unary`, {
          service: request.service,
          method: request.method,
          node: this.nodeName,
          unprocessed: true,
        }),
      );
    }
    const release = this.admissionControl.tryEnter(endpoint.gate, request.method);
    if (typeof release !== "function") return Promise.reject(release);
    this.#localCalls.enter();
    return new LocalUnaryCall(this, caller, request, this.#localCalls.leave, release).run(endpoint);
  }

  /** ` (known: calculator@1.1.0 on node a, …)` for an error message, or nothing. */
  #catalogService(): NonNullable<LookupHandle["catalogService"]> {
    const served = this.#lookup?.catalogService;
    if (!served) throw new RpcError("UNIMPLEMENTED", `node ${this.nodeName} gossips no catalog`, { service: CatalogContract.name, node: this.nodeName });
    return served;
  }

  #knownVersions(service: string): string {
    const known: string[] = [];
    for (const [name, version] of this.registry.list()) if (name === service) known.push(`${name}@${version} on this node`);
    for (const session of this.#sessions) {
      if (session === this.#local || session === this.#localServer || session.closed) continue;
      for (const [name, version] of session.remoteServices) {
        if (name === service) known.push(`${name}@${version} on node ${session.remoteInfo.name}`);
      }
    }
    for (const instance of this.#lookup?.catalog.lookup(service) ?? []) {
      const entry = `${instance.service}@${instance.version} on node ${instance.node.name}`;
      if (instance.node.id !== this.nodeId && !known.includes(entry)) known.push(entry);
    }
    return known.length > 0 ? ` (known: ${known.join(", ")})` : " (no node known here serves it)";
  }

  #dialOptions(address: string): ConnectOptions {
    return this.#clientTls && address.startsWith("tcp://") ? { tls: this.#clientTls } : {};
  }

  #link(address: string): PeerLink {
    let link = this.#peers.get(address);
    if (!link) {
      link = new PeerLink(this, address, this.#dialOptions(address));
      this.#peers.set(address, link);
    }
    return link;
  }

  #localSession(): Session {
    if (this.#local && !this.#local.closed) return this.#local;
    const [near, far] = createInprocPair("inproc://self", "inproc://self");
    this.#localServer = new Session(far, this, "acceptor");
    this.#local = new Session(near, this, "dialer");
    this.#sessions.add(this.#local);
    this.#sessions.add(this.#localServer);
    return this.#local;
  }

  #announce(): void {
    const services = this.registry.list();
    this.#lookup?.backend.update({ services });
    // Sessions still in their handshake sent the old list in HELLO: they need this too.
    for (const session of this.#sessions) if (!session.closed) session.announce(services);
  }

  readonly #reportEventError = (error: Error): void => {
    this.logger.warn({ err: error }, "event handler failed");
  };

  #startSweeper(): void {
    if (this.#sweeper || this.limits.idleTimeout === 0) return;
    const every = Math.max(100, Math.min(this.limits.idleTimeout / 2, 30_000));
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      const subscribed = this.#topics.topics().length > 0;
      for (const session of this.#sessions) {
        if (session === this.#local || session === this.#localServer) continue;
        const idle = now - session.lastActivity > this.limits.idleTimeout;
        if (idle && session.activeCalls === 0 && session.remoteTopics.size === 0 && !subscribed) {
          session.close(`idle for over ${this.limits.idleTimeout} ms`);
        }
      }
    }, every);
    this.#sweeper.unref();
  }

  async #drain(timeout: number): Promise<void> {
    this.#draining = true;
    await Promise.all(this.#listeners.map((listener) => listener.close()));
    const message = `node ${this.nodeName} is draining`;
    for (const session of this.#sessions) session.goAway(message);
    // Leave the look-up first: others stop choosing this node at once, and a
    // registry watch (a call that never ends by itself) does not hold the drain.
    if (this.#loadTimer) clearInterval(this.#loadTimer);
    await this.#lookup?.leave().catch((error: unknown) => this.logger.warn({ err: error }, "leaving the look-up failed"));
    const allIdle = Promise.all([...[...this.#sessions].map((session) => session.idle()), this.#localCalls.idle()]);
    let timer: NodeJS.Timeout | undefined;
    const expired = await Promise.race([
      allIdle.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeout);
      }),
    ]);
    clearTimeout(timer);
    if (expired) {
      const error = new RpcError("UNAVAILABLE", `node ${this.nodeName} stopped before the call finished (drain timeout ${timeout} ms); it may have run`, {
        node: this.nodeName,
      });
      for (const session of this.#sessions) session.stopIncoming(error);
    }
    if (this.#sweeper) clearInterval(this.#sweeper);
    const sessions = [...this.#sessions];
    for (const session of sessions) session.close(`node ${this.nodeName} closed`);
    await Promise.all(sessions.map((session) => session.whenClosed));
    await this.#engine?.close().catch((error: unknown) => this.logger.warn({ err: error }, "stopping the engine failed"));
  }

  #assertOpen(): void {
    if (this.#draining) throw new RpcError("UNAVAILABLE", `node ${this.nodeName} is closed`, { node: this.nodeName });
  }
}

/** Starts a node: listens on the given addresses and returns it ready to serve and call. */
export async function startNode(options: NodeOptions = {}): Promise<Node> {
  const node = new Node(options);
  const addresses = options.listen === undefined ? [] : Array.isArray(options.listen) ? options.listen : [options.listen];
  try {
    if (options.engine) await node.startEngine(options.engine);
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
    if (nodeOptions.engine) await node.startEngine(nodeOptions.engine);
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


function refuse(request: CallRequest, message: string): Promise<unknown> | CallStream<unknown> {
  const error = new RpcError("UNAVAILABLE", `${request.service}.${request.method}: ${message}`, {
    service: request.service,
    method: request.method,
    unprocessed: true,
  });
  if (request.kind === "unary" || request.kind === "client-stream") return Promise.reject(error);
  return failedStream(error);
}
