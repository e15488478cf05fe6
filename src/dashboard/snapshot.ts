/**
 * What the dashboard's page receives about once a second (`GET /api/snapshot`
 * and each `snapshot` event of `GET /api/events`): the clusters and their
 * nodes, the gateways between them, the traffic on each caller → callee link,
 * the service catalog, and the recent calls when a node keeps them.
 */
import type { InstanceFigures } from "./figures.ts";
import type { MemberState } from "../lookup/types.ts";
import type { MethodDescription } from "../rpc/reflection.ts";

/** One moment of the system, as the dashboard saw it. */
export interface DashboardSnapshot {
  /** When it was taken, in ms since the epoch. */
  at: number;
  /** How often snapshots come (ms). */
  interval: number;
  clusters: ClusterView[];
  /** Nodes that sit in two or more clusters (label `amoeba.gateway`), each drawn once, between them. */
  gateways: GatewayView[];
  /** Traffic from a caller node to a callee node, over every service it calls there. */
  links: LinkView[];
  /** The end users in front of each edge that answered. */
  endUsers: EndUsersView[];
  catalog: CatalogService[];
  recentCalls: RecentCallsView;
}

/** The end users in front of one edge: its clients, and the calls it made for them. */
export interface EndUsersView {
  /** The edge's node id. */
  edge: string;
  /** Distinct clients (an authenticated user, else an address) in the last `windowMs`. */
  clients: number;
  windowMs: number;
  /** Calls per second the edge placed for them since the last snapshot. */
  callsPerSecond: number;
  /** The share of those that failed, any code; null when there were none. */
  errorRate: number | null;
  /** Requests per second the edge refused before any call (credentials, rate limits) since the last snapshot. */
  refusedPerSecond: number;
}

/** One cluster and the members it has. */
export interface ClusterView {
  name: string;
  /** Members other than gateways, in name order. */
  nodes: NodeView[];
}

/** One member of a cluster. */
export interface NodeView {
  id: string;
  name: string;
  cluster: string;
  state: MemberState;
  addresses: string[];
  labels: Record<string, string>;
  /** What it serves, as `name@version`, Amoeba's own services left out. */
  services: string[];
  /** Whether it is an edge: end users' clients reach the cluster through it. */
  edge: boolean;
  /** Calls it runs now, and calls it refused for concurrency; null when it did not answer. */
  inFlight: number | null;
  shed: number | null;
}

/** A gateway: one name, one member per cluster it joins. */
export interface GatewayView {
  name: string;
  /** The member id it has in each cluster it was seen in. */
  ids: string[];
  /** The clusters its label names. */
  clusters: string[];
  /** Alive when any of its members is alive, else the state of the first. */
  state: MemberState;
}

/** The calls from one node to another, as the caller's balancers see them. */
export interface LinkView {
  from: string;
  to: string;
  /** Calls per second since the last snapshot. */
  callsPerSecond: number;
  /** Peak-EWMA latency the caller sees, weighted by calls (ms). */
  latencyMs: number;
  /**
   * The 99th percentile of the time the callee took to serve these services'
   * calls (from every caller) since the last snapshot, ms; null unless the
   * callee keeps metrics (`metrics: true`) and served calls in that time.
   */
  p99Ms: number | null;
  /**
   * Share of the calls of these services the callee served in the last 10 s
   * (from every caller) that failed, any code but OK, 0..1 — the same figure
   * as `amoeba top`'s; null unless the callee keeps metrics and served some.
   */
  errorRate: number | null;
  /** Calls in flight now. */
  outstanding: number;
  /** Whether the caller has ejected the callee for some service. */
  ejected: boolean;
  /** The services called, as `name@range` or `name`. */
  services: string[];
}

/** One service version in one cluster: its methods and its instances with their balancing figures. */
export interface CatalogService {
  cluster: string;
  name: string;
  version: string;
  /** From reflection; empty when no node serving it answered yet. */
  methods: MethodDescription[];
  instances: CatalogInstance[];
}

/** One instance and what the nodes that call it see of it. */
export interface CatalogInstance extends InstanceFigures {
  nodeId: string;
  node: string;
  state: MemberState;
}

/** The recent-calls panel: filled from the nodes that keep a ring of their recent calls. */
export interface RecentCallsView {
  /** The built-in service asked (`amoeba.traces`). */
  service: string;
  /** Whether any live node serves it. */
  available: boolean;
  /** Whether any of those keeps calls (`traces: { recent: n }`); a node that keeps none answers an empty list. */
  keeping: boolean;
  /** The latest traces, newest first (at most {@link RECENT_TRACES_SHOWN}). */
  traces: TraceView[];
}

/** One trace: the calls of one request across nodes and hops, stitched by their trace id. */
export interface TraceView {
  traceId: string;
  /** The root call's `service.method`: the call the request began with. */
  title: string;
  /** When its first call began, in ms since the epoch. */
  start: number;
  /** From its first call's start to its last call's end (ms). */
  durationMs: number;
  /** The root call's code when it failed, else the first other code one of its calls ended with, else `OK`. */
  code: string;
  /** Whether every span is under one root; false when some node's part is missing (it keeps no calls, or they rolled out of its ring). */
  complete: boolean;
  /** Its calls, each side of each hop, as a tree listed depth first: a parent above its children, siblings in order of start. */
  spans: SpanView[];
}

/** One side of one call, as the node that made or served it recorded it. */
export interface SpanView {
  spanId: string;
  /** The span it is a child of; null for the root. */
  parentSpanId: string | null;
  /** The node that recorded it, and that node's cluster. */
  node: string;
  cluster: string;
  kind: "client" | "server";
  service: string;
  method: string;
  /** The other side: the callee of a client span, the caller of a server span. */
  peer: string;
  /** When it began, ms after the trace's start, to the microsecond. */
  offsetMs: number;
  durationMs: number;
  code: string;
  /** How many spans above it in the tree: the call path's depth. */
  depth: number;
  /** A served call's input and output as JSON text, and its handler's log lines, when its node keeps them (`traces: { bodies, logs }`). */
  input?: string;
  output?: string;
  logs?: Array<{ level: string; at: number; msg: string; fields?: string }>;
}

/** How many traces the panel shows. */
export const RECENT_TRACES_SHOWN = 12;
