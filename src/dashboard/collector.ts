/**
 * Reads every watched cluster on a timer and turns the readings into one
 * snapshot: clusters and nodes, gateways, traffic per link, the service
 * catalog with balancing figures, and recent calls. Readings never overlap: a
 * slow member delays the next snapshot rather than piling up asks.
 */
import type { NodeStats } from "../balance/stats-contract.ts";
import { EDGE_LABEL } from "../edge/options.ts";
import { memberInstances } from "../lookup/catalog.ts";
import type { Member } from "../lookup/types.ts";
import { GATEWAY_LABEL, ROUTE_LABEL_PREFIX } from "../route-rules/route-label.ts";
import { isBuiltInService, type MethodDescription } from "../rpc/reflection.ts";
import type { ClusterReader, ClusterReading } from "./cluster-reader.ts";
import { figuresOf } from "./figures.ts";
import { readEdgeClients } from "./edge-clients.ts";
import { readGatewayTraffic } from "./gateway-traffic.ts";
import { readRecentCalls, RECENT_CALLS_SERVICE } from "./recent-calls.ts";
import type { EdgeClientsReading } from "../edge/client-tally.ts";
import type { CatalogService, ClusterView, DashboardSnapshot, EndUsersView, GatewayView, NodeView } from "./snapshot.ts";
import { TrafficMeter } from "./traffic.ts";

/** A method the dashboard can call, as reflection described it. */
export interface FoundMethod {
  readonly reader: ClusterReader;
  readonly service: string;
  readonly version: string;
  readonly method: MethodDescription;
}

/** Takes snapshots every `interval` ms and hands each to the listeners. */
export class Collector {
  readonly #readers: readonly ClusterReader[];
  readonly #interval: number;
  readonly #timeout: number;
  readonly #traffic = new TrafficMeter();
  readonly #listeners = new Set<(snapshot: DashboardSnapshot) => void>();
  /** Each edge's last reading and when it came, for rates. */
  #edgeReadings = new Map<string, { reading: EdgeClientsReading; at: number }>();
  #snapshot: DashboardSnapshot;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(readers: readonly ClusterReader[], options: { interval: number; timeout: number }) {
    this.#readers = readers;
    this.#interval = options.interval;
    this.#timeout = options.timeout;
    this.#snapshot = {
      at: Date.now(),
      interval: this.#interval,
      clusters: readers.map((reader) => ({ name: reader.cluster, nodes: [] })),
      gateways: [],
      links: [],
      endUsers: [],
      catalog: [],
      recentCalls: { service: RECENT_CALLS_SERVICE, available: false, keeping: false, traces: [] },
    };
  }

  /** The latest snapshot. */
  get snapshot(): DashboardSnapshot {
    return this.#snapshot;
  }

  /** Calls `listener` with each new snapshot; returns a function that stops it. */
  onSnapshot(listener: (snapshot: DashboardSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Takes the first snapshot, then one every interval until {@link close}. */
  async start(): Promise<void> {
    await this.#take();
    this.#schedule();
  }

  /** Stops taking snapshots; waits for the one under way. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /**
   * The method `service.method` as the latest readings describe it: in
   * `cluster` when given, else in the first cluster that serves it; the
   * newest version served. Amoeba's own services are not offered.
   */
  findMethod(service: string, method: string, cluster?: string): FoundMethod | undefined {
    if (isBuiltInService(service)) return undefined;
    for (const entry of this.#snapshot.catalog) {
      if (entry.name !== service || (cluster !== undefined && entry.cluster !== cluster)) continue;
      const found = entry.methods.find((candidate) => candidate.name === method);
      const reader = this.#readers.find((candidate) => candidate.cluster === entry.cluster);
      if (found !== undefined && reader !== undefined) return { reader, service, version: entry.version, method: found };
    }
    return undefined;
  }

  #endUsers(edges: ReadonlyMap<string, EdgeClientsReading>, now: number): EndUsersView[] {
    const views = [...edges].map(([edge, reading]) => endUsersOf(edge, reading, this.#edgeReadings.get(edge), now));
    this.#edgeReadings = new Map([...edges].map(([edge, reading]) => [edge, { reading, at: now }]));
    return views;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#take()
        .catch((error: unknown) => this.#readers[0]?.node.logger.warn({ err: error }, "dashboard: a snapshot failed"))
        .finally(() => {
          this.#running = null;
          this.#schedule();
        });
    }, this.#interval);
  }

  async #take(): Promise<void> {
    const readings = await Promise.all(this.#readers.map((reader) => reader.read()));
    const stats = new Map<string, NodeStats>();
    for (const reading of readings) for (const [id, answered] of reading.stats) stats.set(id, answered);
    const sources = readings.map((reading, i) => ({ reader: this.#readers[i]!, reading }));
    const [forwarded, recentCalls, edges] = await Promise.all([
      readGatewayTraffic(sources, this.#timeout),
      readRecentCalls(sources, this.#timeout),
      readEdgeClients(sources, this.#timeout),
    ]);
    // A gateway's forwarded calls count as calls of the member they are read from.
    for (const [id, services] of forwarded) {
      const own = stats.get(id);
      if (own !== undefined) stats.set(id, { ...own, services: [...own.services, ...services] });
    }
    const links = this.#traffic.measure(stats, performance.now());
    const { clusters, gateways } = groupMembers(this.#readers, readings, stats);
    const endUsers = this.#endUsers(edges, performance.now());
    this.#snapshot = { at: Date.now(), interval: this.#interval, clusters, gateways, links, endUsers, catalog: catalogOf(readings, stats, this.#traffic.windowStart), recentCalls };
    if (this.#closed) return;
    for (const listener of this.#listeners) listener(this.#snapshot);
  }
}

/** Each edge's clients, and its calls, failures and refusals per second since its last reading. */
function endUsersOf(edge: string, reading: EdgeClientsReading, before: { reading: EdgeClientsReading; at: number } | undefined, now: number): EndUsersView {
  const seconds = before === undefined ? 0 : (now - before.at) / 1000;
  const delta = (key: "calls" | "failed" | "refused"): number => (before === undefined ? 0 : Math.max(0, reading[key] - before.reading[key]));
  const calls = delta("calls");
  const perSecond = (n: number): number => (seconds > 0 ? n / seconds : 0);
  return {
    edge,
    clients: reading.clients,
    windowMs: reading.windowMs,
    callsPerSecond: perSecond(calls),
    errorRate: calls > 0 ? delta("failed") / calls : null,
    refusedPerSecond: perSecond(delta("refused")),
  };
}

/** Each cluster's members, and the gateways among them merged by name across clusters. */
function groupMembers(
  readers: readonly ClusterReader[],
  readings: readonly ClusterReading[],
  stats: ReadonlyMap<string, NodeStats>,
): { clusters: ClusterView[]; gateways: GatewayView[] } {
  const gateways = new Map<string, GatewayView>();
  const clusters = readings.map((reading, i): ClusterView => {
    const reader = readers[i]!;
    const nodes: NodeView[] = [];
    for (const member of reading.members) {
      if (reader.hidden && member.record.id === reader.node.id) continue;
      const joins = gatewayClusters(member);
      if (joins.length > 0) {
        const gateway = gateways.get(member.record.name);
        if (gateway === undefined) {
          gateways.set(member.record.name, { name: member.record.name, ids: [member.record.id], clusters: joins, state: member.state });
        } else if (!gateway.ids.includes(member.record.id)) {
          gateway.ids.push(member.record.id);
          if (member.state === "alive") gateway.state = "alive";
        }
        continue;
      }
      const edge = (reader.edge && member.record.id === reader.node.id) || member.record.labels[EDGE_LABEL] !== undefined;
      nodes.push(nodeView(member, edge, stats.get(member.record.id)));
    }
    return { name: reading.cluster, nodes };
  });
  return { clusters, gateways: [...gateways.values()] };
}

function gatewayClusters(member: Member): string[] {
  const label = member.record.labels[GATEWAY_LABEL];
  if (label === undefined) return [];
  return label
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
}

function nodeView(member: Member, edge: boolean, stats: NodeStats | undefined): NodeView {
  const record = member.record;
  return {
    id: record.id,
    name: record.name,
    cluster: record.cluster,
    state: member.state,
    addresses: [...record.addresses],
    labels: { ...record.labels },
    services: record.services.filter(([name]) => !isBuiltInService(name)).map(([name, version]) => `${name}@${version}`),
    edge,
    ...servedCounts(stats),
  };
}

/** Calls it runs now and calls it shed, over its own services: the dashboard's own ask for stats is not counted. */
function servedCounts(stats: NodeStats | undefined): { inFlight: number | null; shed: number | null } {
  if (stats === undefined) return { inFlight: null, shed: null };
  const own = Object.values(stats.server.services).filter((service) => !isBuiltInService(service.service));
  return { inFlight: own.reduce((sum, service) => sum + service.inFlight, 0), shed: own.reduce((sum, service) => sum + service.shed, 0) };
}

/** Every service version served in each cluster, with its methods and its instances' figures. */
function catalogOf(readings: readonly ClusterReading[], stats: ReadonlyMap<string, NodeStats>, before: ReadonlyMap<string, NodeStats> | undefined): CatalogService[] {
  const out: CatalogService[] = [];
  for (const reading of readings) {
    const byKey = new Map<string, CatalogService>();
    for (const member of reading.members) {
      for (const instance of memberInstances(member)) {
        // A gateway offers what it forwards as if it served it: listed where it is served, not once more per gateway.
        if (isBuiltInService(instance.service) || member.record.labels[`${ROUTE_LABEL_PREFIX}${instance.service}`] !== undefined) continue;
        const key = `${instance.service}@${instance.version}`;
        let entry = byKey.get(key);
        if (entry === undefined) {
          entry = { cluster: reading.cluster, name: instance.service, version: instance.version, methods: methodsOf(reading, instance.service, instance.version), instances: [] };
          byKey.set(key, entry);
        }
        const figures = figuresOf(instance, stats, before);
        entry.instances.push({ nodeId: instance.node.id, node: instance.node.name, state: instance.state, ...figures });
      }
    }
    out.push(...[...byKey.values()].sort((a, b) => a.name.localeCompare(b.name) || b.version.localeCompare(a.version, undefined, { numeric: true })));
  }
  return out;
}

function methodsOf(reading: ClusterReading, service: string, version: string): MethodDescription[] {
  for (const described of reading.descriptions.values()) {
    const found = described.find((entry) => entry.name === service && entry.version === version);
    if (found !== undefined) return found.methods;
  }
  return [];
}
