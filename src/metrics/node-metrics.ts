import type { HistogramChild } from "./registry.ts";
import { MetricsRegistry, type Counter, type Histogram, type LabelValues } from "./registry.ts";

/** What the node lets its metrics read when they are rendered. */
export interface MetricsSources {
  /** Calls running here: node-wide (service and version ""), and per served contract. */
  inFlight(): Iterable<[LabelValues, number]>;
  /** Calls refused for concurrency, per served contract. */
  shed(): Iterable<[LabelValues, number]>;
  /** Members of the cluster by state. */
  members(): Iterable<[LabelValues, number]>;
  /** Per service this node calls: calls in flight to its instances, ejected instances and ejections so far. */
  balancers(): Iterable<{ service: string; outstanding: number; ejected: number; ejections: number }>;
  /** Bytes received and sent over connections, closed ones included. */
  bytes(): { in: number; out: number };
}

/**
 * The metrics of one node: what it serves, what it calls (per service.method
 * and per peer), its balancers, its membership and its bytes. The hot paths
 * record through children kept in maps keyed by label values.
 */
export class NodeMetrics {
  readonly registry = new MetricsRegistry();
  readonly #served: Counter;
  readonly #servedSeconds: Histogram;
  readonly #called: Counter;
  readonly #calledSeconds: Histogram;
  readonly #peerSeconds: Histogram;
  readonly #retries: Counter;
  readonly #membershipChanges: Counter;
  // service → method → its children: a call records with two look-ups and no string built.
  readonly #servedBy = new Map<string, Map<string, MethodChildren>>();
  readonly #calledBy = new Map<string, Map<string, MethodChildren>>();
  readonly #peerChildren = new Map<string, HistogramChild>();

  constructor(sources: MetricsSources) {
    const r = this.registry;
    this.#served = r.counter("amoeba_server_calls_total", "Calls this node served, by outcome code.", ["service", "method", "code"]);
    this.#servedSeconds = r.histogram("amoeba_server_call_seconds", "Time to serve a call, from its arrival to its outcome.", ["service", "method"]);
    r.gauge("amoeba_server_in_flight", "Calls running on this node now (service \"\" is the whole node).", ["service", "version"], () => sources.inFlight());
    r.counterFrom("amoeba_server_shed_total", "Calls refused for a concurrency limit (RESOURCE_EXHAUSTED, not processed).", ["service", "version"], () => sources.shed());
    this.#called = r.counter("amoeba_client_calls_total", "Calls this node made to other nodes, per attempt, by outcome code.", ["service", "method", "code"]);
    this.#calledSeconds = r.histogram("amoeba_client_call_seconds", "Round-trip time of calls to other nodes, per attempt.", ["service", "method"]);
    this.#peerSeconds = r.histogram("amoeba_peer_call_seconds", "Round-trip time of calls to other nodes, per peer.", ["peer"]);
    this.#retries = r.counter("amoeba_client_retries_total", "Retries and hedges the balancers sent.", ["service"]);
    r.gauge("amoeba_client_outstanding", "Calls in flight from this node, per service called.", ["service"], () => map(sources.balancers(), (b) => [[b.service], b.outstanding]));
    r.gauge("amoeba_client_ejected_instances", "Instances the balancer has ejected now, per service.", ["service"], () => map(sources.balancers(), (b) => [[b.service], b.ejected]));
    r.counterFrom("amoeba_client_ejections_total", "Ejections of instances so far, per service.", ["service"], () => map(sources.balancers(), (b) => [[b.service], b.ejections]));
    r.gauge("amoeba_members", "Members of the cluster this node sees, by state.", ["state"], () => sources.members());
    this.#membershipChanges = r.counter("amoeba_membership_changes_total", "Membership events this node saw, by type.", ["type"]);
    r.counterFrom("amoeba_received_bytes_total", "Bytes received over connections.", [], () => [[[], sources.bytes().in]]);
    r.counterFrom("amoeba_sent_bytes_total", "Bytes sent over connections.", [], () => [[[], sources.bytes().out]]);
  }

  /** A call served here ended with `code` after `seconds`. */
  served(service: string, method: string, code: string, seconds: number): void {
    this.servedMethod(service, method).record(code, seconds);
  }

  /** The figures of one served method, for a caller that records many of its calls: looked up once. */
  servedMethod(service: string, method: string): ServedMethodRecorder {
    return childrenOf(this.#servedBy, this.#served, this.#servedSeconds, service, method);
  }

  /** One attempt of a call to `peer` ended with `code` after `seconds`. */
  called(service: string, method: string, peer: string, code: string, seconds: number): void {
    const children = childrenOf(this.#calledBy, this.#called, this.#calledSeconds, service, method);
    children.count(code);
    children.seconds.observe(seconds);
    let perPeer = this.#peerChildren.get(peer);
    if (!perPeer) this.#peerChildren.set(peer, (perPeer = this.#peerSeconds.labels([peer])));
    perPeer.observe(seconds);
  }

  /** A balancer sent a retry or a hedge. */
  retried(service: string): void {
    this.#retries.inc([service]);
  }

  /** A membership event of `type` (join, update, suspect, alive, dead, left). */
  membershipChanged(type: string): void {
    this.#membershipChanges.inc([type]);
  }

  /** The text exposition, as `/metrics` serves it. */
  render(): string {
    return this.registry.render();
  }

  /** What this node served of each method so far, for `node.stats()` (tools compute rates from two readings). */
  servedMethods(): ServedMethodStats[] {
    const out: ServedMethodStats[] = [];
    for (const [service, methods] of this.#servedBy) {
      for (const [method, children] of methods) out.push({ service, method, ...children.read() });
    }
    return out;
  }
}

/** What a node served of one method since it started: calls by outcome and their latencies. */
export interface ServedMethodStats {
  service: string;
  method: string;
  /** Calls by outcome code: `OK` or a status code. */
  calls: Record<string, number>;
  /** Upper bounds of the latency buckets, in seconds, ascending. */
  bounds: number[];
  /** Calls per latency bucket, not cumulative; one more than `bounds`: the last holds calls slower than every bound. */
  buckets: number[];
  /** Seconds spent in these calls, together. */
  seconds: number;
}

/** Records the calls of one method. */
export interface ServedMethodRecorder {
  /** A call ended with `code` after `seconds`. */
  record(code: string, seconds: number): void;
}

/** One method's counters by code (OK kept apart: it is nearly every call) and its latency histogram. */
class MethodChildren implements ServedMethodRecorder {
  readonly #counter: Counter;
  readonly #service: string;
  readonly #method: string;
  readonly #ok: { value: number };
  readonly #others = new Map<string, { value: number }>();
  readonly seconds: HistogramChild;

  constructor(counter: Counter, histogram: Histogram, service: string, method: string) {
    this.#counter = counter;
    this.#service = service;
    this.#method = method;
    this.#ok = counter.labels([service, method, "OK"]);
    this.seconds = histogram.labels([service, method]);
  }

  /** The counts so far, as {@link ServedMethodStats} reports them. */
  read(): Omit<ServedMethodStats, "service" | "method"> {
    const calls: Record<string, number> = {};
    if (this.#ok.value > 0) calls.OK = this.#ok.value;
    for (const [code, child] of this.#others) calls[code] = child.value;
    const buckets = [...this.seconds.counts];
    let bounded = 0;
    for (const count of buckets) bounded += count;
    buckets.push(this.seconds.count - bounded);
    return { calls, bounds: [...this.seconds.bounds], buckets, seconds: this.seconds.sum };
  }

  record(code: string, seconds: number): void {
    this.count(code);
    this.seconds.observe(seconds);
  }

  count(code: string): void {
    if (code === "OK") {
      this.#ok.value++;
      return;
    }
    let child = this.#others.get(code);
    if (!child) {
      child = this.#counter.labels([this.#service, this.#method, code]);
      this.#others.set(code, child);
    }
    child.value++;
  }
}

function childrenOf(cache: Map<string, Map<string, MethodChildren>>, counter: Counter, histogram: Histogram, service: string, method: string): MethodChildren {
  let methods = cache.get(service);
  if (!methods) cache.set(service, (methods = new Map()));
  let found = methods.get(method);
  if (!found) methods.set(method, (found = new MethodChildren(counter, histogram, service, method)));
  return found;
}

function* map<T>(items: Iterable<T>, f: (item: T) => [LabelValues, number]): Iterable<[LabelValues, number]> {
  for (const item of items) yield f(item);
}
