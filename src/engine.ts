/**
 * The engine seam: how a node rides on an existing messaging system (NATS,
 * through `amoeba/nats`) instead of, or beside, its own sockets and gossip.
 * An engine brings transports for address schemes of its own and, if it
 * wants, the look-up backend. The core knows only these interfaces; an
 * engine's package brings the client library it needs.
 */
import type { Logger } from "./logger.ts";
import type { LookupBackend } from "./lookup/backend.ts";
import type { MemberRecord } from "./lookup/types.ts";
import type { AdmissionStats } from "./rpc/admission.ts";
import type { CallRequest, CallerInfo } from "./rpc/context.ts";
import type { Limits } from "./rpc/limits.ts";
import type { ServiceRegistry } from "./rpc/registry.ts";
import type { TransportTable } from "./transport/index.ts";

/** What an engine may use of the node it runs for. */
export interface EngineHost {
  readonly nodeId: string;
  readonly nodeName: string;
  readonly cluster: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly limits: Limits;
  readonly logger: Logger;
  /** The services the node serves, with their methods. */
  readonly registry: ServiceRegistry;
  /** The deadline of calls that set none, in ms. */
  readonly defaultTimeout: number | undefined;
  /** Calls in flight and shed, node-wide and per contract. */
  readonly admission: AdmissionStats;
  /**
   * Runs a unary call of a service the node serves, with every semantic of an
   * incoming call (validation, admission, deadline), for requests that come
   * from outside Amoeba's protocol (e.g. plain NATS requests carrying JSON).
   */
  callServed(request: CallRequest, caller: CallerInfo): Promise<unknown>;
  /** Hands an event that came through the engine's own fan-out ({@link EngineEvents}) to this node's subscribers. */
  deliverEngineEvent(topic: string, payload: unknown, from: CallerInfo): void;
}

/**
 * Events over the engine's own fan-out (NATS subjects): one message per
 * event, which the engine's servers hand to every node of the cluster that
 * subscribes. Members of the cluster on the engine are then not sent the
 * event one by one.
 */
export interface EngineEvents {
  /**
   * Sends an event to the cluster's subscribers on the engine (not back to
   * this node). False when this event cannot travel that way (its topic is
   * no subject, or it is larger than a message may be): the node then sends
   * it over connections as to any member.
   */
  publish(topic: string, payload: unknown): boolean;
  /** Starts receiving `topic` (once per topic, whatever the number of calls); false when the topic cannot travel this way. */
  subscribe(topic: string): boolean;
  /** Stops receiving `topic`. */
  unsubscribe(topic: string): void;
}

/** An engine started for one node. */
export interface RunningEngine {
  /** Transports of the engine's address schemes. */
  readonly transports: TransportTable;
  /** Addresses the node listens on as soon as the engine runs (e.g. `nats://<node id>`). */
  readonly listen: readonly string[];
  /** The look-up backend, when the engine brings its own (else gossip or a registry, as configured). */
  createLookup?(self: MemberRecord): LookupBackend;
  /**
   * Where the engine balances calls by itself (NATS queue groups): the group
   * that unary calls of `service` go to when the client's strategy leaves the
   * choice of instance to the engine. Undefined when the group cannot honour
   * what the client asks (labels, or a version range some instance on the
   * group's subject does not satisfy): such calls go to an instance directly.
   */
  group?(service: string, range: string | null, labels: Readonly<Record<string, string>> | undefined): EngineGroup | undefined;
  /** Events by the engine's own fan-out, when it has one. */
  readonly events?: EngineEvents;
  /** Stops the engine; the node's connections over it are closed by then. */
  close(): Promise<void>;
}

/** A group of instances the engine balances calls over by itself, as one target of a balancer. */
export interface EngineGroup {
  /** What stats and errors call it, e.g. "NATS queue group q". */
  readonly name: string;
  /** Where calls go, e.g. `nats-subject:amoeba.svc.calculator.v1.*`. */
  readonly address: string;
  /** Places one unary call; the engine picks the instance that runs it. */
  invoke(request: CallRequest): Promise<unknown>;
}

/** An engine a node can run on: `startNode({ engine: nats({ servers }) })`. */
export interface Engine {
  /** A short name, e.g. "nats", for messages. */
  readonly name: string;
  /** Starts for `host`; rejects with a clear error when it cannot (unreachable server, wrong credentials). */
  start(host: EngineHost): Promise<RunningEngine>;
}
