/**
 * The parts of a node, wired together: the dispatcher (every call served),
 * the call router (every call made), the connections and the membership view.
 * `Node` is the public facade over it; sessions, links, engines and balancers
 * see it through the small interfaces they declare.
 */
import { EventFanout, TOPICS_LABEL, topicsLabel } from "../lookup/event-fanout.ts";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { NodeBalancers } from "../balance/node-balancers.ts";
import { resolvePolicy, type ResolvedPolicy } from "../balance/policy.ts";
import type { TargetSource } from "../balance/service-balancer.ts";
import type { TargetInfo } from "../balance/target.ts";
import type { EngineHost, RunningEngine } from "../engine.ts";
import { childLogger, createStderrLogger, type Logger } from "../logger.ts";
import { NodeMetrics } from "../metrics/node-metrics.ts";
import { ConnectionKey } from "../rpc/connection-proof.ts";
import type { HandshakeCredentials } from "../rpc/handshake.ts";
import { checkToken, tokenVerifierOf } from "../rpc/tokens.ts";
import { createCallTracer, createRecentCalls, type CallTracer } from "../observe/call-tracer.ts";
import type { RecentCalls } from "../observe/recent-calls.ts";
import { servedMetrics } from "../observe/served-metrics.ts";
import type { AdmissionStats } from "../rpc/admission.ts";
import { createClient } from "../rpc/client.ts";
import type { CallRequest, CallerInfo, Client, ClientInterceptor, ClientNext, ClientOptions, EventNext, ServerInterceptor } from "../rpc/context.ts";
import type { Contract } from "../rpc/contract.ts";
import { Dispatcher } from "../rpc/dispatcher.ts";
import { checkInterceptors, composeClient, composeEvents } from "../rpc/interceptor.ts";
import { resolveLimits, type Limits } from "../rpc/limits.ts";
import type { ServiceRegistry } from "../rpc/registry.ts";
import type { Session, SessionHost } from "../rpc/session.ts";
import type { EventHandler, PayloadOf, TopicRef } from "../rpc/topics.ts";
import { compatibleRange } from "../rpc/version.ts";
import { Router } from "../route-rules/router.ts";
import { parseRouteRules } from "../route-rules/rules.ts";
import { dial, type Connection, type TlsClientOptions } from "../transport/index.ts";
import { CallRouter, type RouterNode } from "./call-router.ts";
import { Connections } from "./connections.ts";
import { MembershipView } from "./membership-view.ts";
import { clusterKeyOf, type ConnectOptions, type NodeOptions } from "./options.ts";
import type { LinkHost } from "./peer-link.ts";

/** A node's parts and the interfaces its sessions, links, engine and balancers use. */
export class NodeCore implements SessionHost, LinkHost, EngineHost, TargetSource, RouterNode {
  readonly id = randomUUID();
  readonly name: string;
  readonly cluster: string;
  labels: Readonly<Record<string, string>>;
  readonly limits: Limits;
  readonly dev: boolean;
  readonly logger: Logger;
  readonly defaultTimeout: number | undefined;
  readonly drainTimeout: number;
  /** The node's metrics, when `metrics: true`. */
  readonly metrics: NodeMetrics | null;
  /** The node's tracing, when `traces` asks for any. */
  readonly tracer: CallTracer | null;
  readonly recentCalls: RecentCalls | null;
  readonly dispatcher: Dispatcher;
  readonly connections: Connections;
  readonly membership = new MembershipView();
  readonly balancers: NodeBalancers;
  /** Route rules, configured or in a call's metadata. */
  readonly rules: Router;
  readonly router: CallRouter;
  engine: RunningEngine | null = null;
  /**
   * Steps of a layer above run when the node closes, once its calls in flight
   * are done and before its connections close (entity types give up their
   * keys here).
   */
  readonly closing = new Set<() => Promise<void>>();
  readonly self: CallerInfo;
  readonly credentials: HandshakeCredentials;
  readonly #clientTls: TlsClientOptions | undefined;
  /** The chains of events published here and arriving here, or null with no event interceptor. */
  readonly #eventsOut: EventNext | null;
  readonly #eventsIn: EventNext | null;
  // cluster-wide publishing.
  readonly #events: EventFanout;
  /** The node's own client interceptors, outermost first. */
  readonly #clientInterceptors: readonly ClientInterceptor[];
  /** Amoeba's stages of the caller's chain, below every interceptor: tracing. */
  readonly #clientStages: readonly ClientInterceptor[];

  constructor(options: NodeOptions) {
    this.name = options.name ?? `${hostname()}-${process.pid}`;
    this.cluster = options.cluster ?? "default";
    this.labels = Object.freeze({ host: hostname(), ...options.labels });
    this.limits = resolveLimits(options.limits);
    this.dev = options.dev ?? false;
    this.defaultTimeout = options.defaultTimeout ?? 30_000;
    this.drainTimeout = options.drainTimeout ?? 10_000;
    this.#clientTls = options.clientTls;
    const clusterKey = clusterKeyOf(options);
    this.credentials = {
      key: clusterKey === undefined ? null : new ConnectionKey(clusterKey),
      token: checkToken(options.token),
      verifyToken: tokenVerifierOf(options.tokens),
    };
    // Every line the node writes says which node wrote it.
    this.logger = childLogger(options.logger ?? createStderrLogger({}), { node: this.name, node_id: this.id, cluster: this.cluster });
    this.recentCalls = createRecentCalls(options.traces);
    this.tracer = createCallTracer(options.traces, this.recentCalls);
    this.metrics = options.metrics ? new NodeMetrics(this.#metricsSources()) : null;
    checkInterceptors(options.interceptors?.client, "interceptors.client");
    this.#clientInterceptors = [...(options.interceptors?.client ?? [])];
    checkInterceptors(options.interceptors?.events, "interceptors.events");
    const events = options.interceptors?.events ?? [];
    this.#eventsOut = events.length === 0 ? null : composeEvents(events, (event) => this.#sendEvent(event.topic, event.payload));
    this.#eventsIn = events.length === 0 ? null : composeEvents(events, (event) => this.connections.deliver(event.topic, event.payload, event.from, this.reportEventError));
    this.#clientStages = this.tracer ? [this.tracer.client] : [];
    const stages: ServerInterceptor[] = [];
    if (this.tracer) stages.push(this.tracer.server);
    if (this.metrics) stages.push(servedMetrics(this.metrics));
    this.dispatcher = new Dispatcher(this, {
      validation: { input: options.validate?.input ?? true, output: options.validate?.output ?? this.dev },
      concurrency: options.concurrency,
      interceptors: options.interceptors?.server,
      stages,
      authorization: options.authorization,
    });
    this.connections = new Connections(this, this.limits);
    this.#events = new EventFanout({
      nodeId: this.id,
      hostLabel: () => this.labels.host,
      remoteSessions: () => this.connections.remote(),
      members: () => this.membership.members(),
      session: (address) => this.connections.link(address, this.dialOptions(address)).session(),
      dropped: (topic, member, why) => this.logger.debug({ topic, member, why }, "event not delivered"),
    });
    this.balancers = new NodeBalancers(this, { ...options.balance, random: Math.random, metrics: this.metrics });
    this.rules = new Router(
      parseRouteRules(options.routes ?? []),
      this,
      (service, range) => this.router.instances(service, range),
      (service, range, source) => this.balancers.over(service, range, source),
    );
    this.router = new CallRouter(this);
    this.self = { id: this.id, name: this.name, address: "inproc://self" };
  }

  // --- the node's clients ----------------------------------------------------

  /** A typed client whose calls go wherever the router places them. */
  createClient<C extends Contract>(contract: C, options: ClientOptions): Client<C> {
    const base = resolvePolicy(options.balance);
    const policies = new Map<string, ResolvedPolicy>();
    for (const [method, policy] of Object.entries(options.methods ?? {})) {
      if (!Object.hasOwn(contract.methods, method)) throw new TypeError(`client options name method ${method}, which ${contract.name} does not have`);
      policies.set(method, resolvePolicy(policy, base));
    }
    const range = options.version ?? compatibleRange(contract.version);
    const balancer = this.balancers.of(contract.name, range, options.labels);
    const router = this.router;
    const place: ClientNext =
      policies.size === 0 ? (request) => router.place(request, balancer, base) : (request) => router.place(request, balancer, policies.get(request.method) ?? base);
    return this.clientOver(contract, place, options);
  }

  clientOver<C extends Contract>(contract: C, place: ClientNext, options: ClientOptions): Client<C> {
    checkInterceptors(options.interceptors, `client(${contract.name}) interceptors`);
    const own = options.interceptors ?? [];
    return createClient(contract, this.chain(place, own), options, this.defaultTimeout);
  }

  /** The node's client chain (its interceptors, `inner`, then tracing) around `last`. */
  chain(last: ClientNext, inner: readonly ClientInterceptor[] = []): ClientNext {
    return composeClient([...this.#clientInterceptors, ...inner, ...this.#clientStages], last);
  }

  // --- SessionHost and LinkHost ------------------------------------------------

  get nodeId(): string {
    return this.id;
  }

  get nodeName(): string {
    return this.name;
  }

  subscribedTopics(): string[] {
    return this.connections.topics.topics();
  }

  deliverEvent(topic: string, payload: unknown, from: Session): void {
    if (this.connections.isLocal(from)) return;
    this.deliverEngineEvent(topic, payload, from.remoteInfo);
  }

  /** An event that arrived, over a connection or the engine's fan-out: through the event interceptors to the subscribers. */
  deliverEngineEvent(topic: string, payload: unknown, from: CallerInfo): void {
    const incoming = this.#eventsIn;
    if (incoming === null) this.connections.deliver(topic, payload, from, this.reportEventError);
    else incoming({ direction: "in", topic, payload, from });
  }

  sessionReady(): void {
    this.membership.bump();
  }

  sessionServicesChanged(): void {
    this.membership.bump();
  }

  sessionClosed(session: Session): void {
    this.membership.bump();
    this.connections.closed(session);
  }

  dial(address: string, options: ConnectOptions): Promise<Connection> {
    return dial(address, { limits: this.limits, tls: options.tls, connectTimeout: options.connectTimeout }, this.engine?.transports);
  }

  trackSession(session: Session): void {
    this.connections.track(session);
  }

  dialOptions(address: string): ConnectOptions {
    return this.#clientTls && address.startsWith("tcp://") ? { tls: this.#clientTls } : {};
  }

  publish<T extends TopicRef>(topic: T, payload: PayloadOf<T>): void {
    const name = typeof topic === "string" ? topic : (topic as { topic: string }).topic;
    const out = this.#eventsOut;
    if (out === null) this.#sendEvent(name, payload);
    else out({ direction: "out", topic: name, payload, from: this.self });
  }

  /** The last step of an event published here: to the nodes that subscribed, and to this node's subscribers. */
  #sendEvent(topic: string, payload: unknown): void {
    // By the engine's subject when it has one (members on the engine have it then), then
    // connected subscribers and the look-up's, once each.
    const bySubject = this.engine?.events?.publish(topic, payload) === true;
    this.#events.publish(topic, payload, bySubject ? this.#onEngine : undefined);
    if (this.connections.topics.has(topic)) queueMicrotask(() => this.connections.topics.deliver(topic, payload, this.name, this.reportEventError));
  }

  subscribe<T extends TopicRef>(topic: T, handler: EventHandler<PayloadOf<T>>): () => void {
    const topics = this.connections.topics;
    const { first, remove } = topics.add(topic, handler as EventHandler<any>);
    const name = typeof topic === "string" ? topic : (topic as { topic: string }).topic;
    if (first) {
      // The record first: a look-up that cannot carry the longer topics label
      // (gossip: 512 characters) refuses it here, and nothing of the
      // subscription is left behind — no handler, no label, no SUBSCRIBE.
      try {
        this.#advertiseTopics();
      } catch (error) {
        remove();
        throw new RangeError(
          `subscribe("${name.slice(0, 64)}"): the topics this node subscribes to do not fit in its member record's ${TOPICS_LABEL} label (${error instanceof Error ? error.message : String(error)}); not subscribed`,
          { cause: error },
        );
      }
      this.connections.updateSubscription(name, true);
      this.engine?.events?.subscribe(name);
    }
    return () => {
      if (!remove()) return;
      this.connections.updateSubscription(name, false);
      this.engine?.events?.unsubscribe(name);
      this.#advertiseTopics();
    };
  }

  /** Whether a node of this cluster is on the engine, and so has an event that went by the engine's subject. */
  readonly #onEngine = (addresses: readonly string[], cluster: string | undefined): boolean =>
    cluster === this.cluster && addresses.some((address) => this.engine?.transports.has(address.slice(0, address.indexOf(":"))) === true);

  /** The member record lists the topics, for publishers anywhere in the cluster; throws (nothing changed) when the look-up refuses the label. */
  #advertiseTopics(): void {
    const next: Record<string, string> = { ...this.labels };
    const value = topicsLabel(this.connections.topics.topics());
    if (value === undefined) delete next[TOPICS_LABEL];
    else next[TOPICS_LABEL] = value;
    // The look-up first: labels it refuses (a RangeError) are not kept either.
    this.membership.update({ labels: next });
    this.labels = Object.freeze(next);
  }

  readonly reportEventError = (error: Error): void => {
    this.logger.warn({ err: error }, "event handler failed");
  };

  // --- EngineHost and TargetSource ---------------------------------------------

  get registry(): ServiceRegistry {
    return this.dispatcher.registry;
  }

  get admission(): AdmissionStats {
    return this.dispatcher.admission.stats();
  }

  callServed(request: CallRequest, caller: CallerInfo): Promise<unknown> {
    return this.dispatcher.callLocally(request, caller);
  }

  get epoch(): number {
    return this.membership.epoch;
  }

  collectTargets(service: string, range: string | null, labels: Readonly<Record<string, string>> | undefined, into: (info: TargetInfo) => void): void {
    this.router.collectTargets(service, range, labels, into);
  }

  // --- internals -----------------------------------------------------------

  #metricsSources(): ConstructorParameters<typeof NodeMetrics>[0] {
    return {
      inFlight: () => {
        const stats = this.admission;
        return [[["", ""], stats.inFlight], ...Object.values(stats.services).map((s): [string[], number] => [[s.service, s.version], s.inFlight])];
      },
      shed: () => Object.values(this.admission.services).map((s): [string[], number] => [[s.service, s.version], s.shed]),
      members: () => {
        const counts = new Map<string, number>();
        for (const member of this.membership.members()) counts.set(member.state, (counts.get(member.state) ?? 0) + 1);
        return [...counts].map(([state, count]): [string[], number] => [[state], count]);
      },
      balancers: () => this.balancers.totals(performance.now()),
      bytes: () => this.connections.bytes(),
    };
  }
}
