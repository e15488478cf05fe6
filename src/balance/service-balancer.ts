import type { NodeMetrics } from "../metrics/node-metrics.ts";
import { HashRing } from "./hash-ring.ts";
import { LatencyWindow } from "./latency-window.ts";
import { OutlierDetector, type OutlierOptions } from "./outlier.ts";
import { pickP2C, pickRandom, RoundRobin } from "./pickers.ts";
import type { ResolvedPolicy } from "./policy.ts";
import { outranks, rendezvousScore } from "./rendezvous.ts";
import { RetryBudget, type RetryBudgetOptions } from "./retry-budget.ts";
import { Locality, LOCALITY_NAMES, Target, type TargetInfo } from "./target.ts";

/** Where a balancer learns the instances of its service; `epoch` grows whenever they may have changed. */
export interface TargetSource {
  readonly epoch: number;
  collectTargets(service: string, range: string | null, labels: Readonly<Record<string, string>> | undefined, into: (info: TargetInfo) => void): void;
}

/** What `node.stats()` says of one instance. */
export interface InstanceStats {
  node: string;
  nodeId: string;
  address: string;
  locality: (typeof LOCALITY_NAMES)[number];
  suspect: boolean;
  outstanding: number;
  calls: number;
  failures: number;
  /** Peak-EWMA latency, ms. */
  ewmaMs: number;
  /** Share of the calls of the last window (10 s by default) that failed, 0..1. */
  errorRate: number;
  state: "healthy" | "ejected" | "probing";
  ejections: number;
}

/** What `node.stats()` says of the instances of one service, as this node's balancer sees them. */
export interface ServiceStats {
  service: string;
  version: string | null;
  instances: InstanceStats[];
}

/** What every service balancer of a node is made with. */
export interface BalancerSettings {
  readonly outliers?: Partial<OutlierOptions>;
  readonly retryBudget?: Partial<RetryBudgetOptions>;
  readonly random: () => number;
  /** Where attempts and retries are counted, when metrics are on. */
  readonly metrics?: NodeMetrics | null;
}

// Picks reuse one scratch array: no allocation per call.
const scratch: Target[] = [];

/**
 * The balancer of one service (and version range, and labels) in one node:
 * keeps its instances up to date with the look-up and connections, and picks
 * one per call by locality, health and the call's strategy.
 */
export class ServiceBalancer {
  readonly service: string;
  readonly range: string | null;
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** Latencies of recent successful calls, for hedging by percentile. */
  readonly recent = new LatencyWindow();
  /** Ejects instances that fail; per service, since a node may fail one service and serve another well. */
  readonly outliers: OutlierDetector;
  /** Bounds retries and hedges of calls to this service. */
  readonly budget: RetryBudget;
  readonly metrics: NodeMetrics | null;
  readonly #source: TargetSource;
  readonly #random: () => number;
  #epoch = -1;
  readonly #byId = new Map<string, Target>();
  /** Targets grouped by locality tier and cost, nearest first; empty tiers left out. */
  #tiers: Target[][] = [];
  #all: Target[] = [];
  /** The targets not through a gateway: the owners an entity key may have. */
  #inCluster: Target[] = [];
  #suspects = 0;
  readonly #rings = new Map<Target[], HashRing<Target>>();
  readonly #roundRobin = new RoundRobin();

  constructor(service: string, range: string | null, labels: Readonly<Record<string, string>> | undefined, source: TargetSource, settings: BalancerSettings) {
    this.service = service;
    this.range = range;
    this.labels = labels;
    this.#source = source;
    this.#random = settings.random;
    this.metrics = settings.metrics ?? null;
    this.outliers = new OutlierDetector(settings.outliers);
    // The balancer's clock is performance.now(): the budget shares it, so calls can hand it their time.
    this.budget = new RetryBudget({ ...settings.retryBudget, now: () => performance.now() });
  }

  /** The instances now known, nearest tier first. */
  targets(): readonly Target[] {
    this.#refresh();
    return this.#all;
  }

  /**
   * One instance for a call, or undefined when none is usable. `exclude` holds
   * instances this call already tried; `key` is the hash key for `hash`.
   */
  pick(policy: ResolvedPolicy, key: string | undefined, exclude: ReadonlySet<Target> | null, now: number): Target | undefined {
    this.#refresh();
    const tiers = this.#tiers;
    if (tiers.length === 0) return undefined;
    if (policy.strategy === "owner" && key !== undefined) return this.#pickOwner(policy, key, exclude, now);
    if (policy.locality) {
      for (const tier of tiers) {
        const found = this.#pickIn(tier, policy, key, exclude, now);
        if (found) return found;
      }
      return undefined;
    }
    return this.#pickIn(this.#all, policy, key, exclude, now);
  }

  /** Calls in flight to its instances, instances ejected now, and ejections so far: for metrics. */
  totals(now: number): { outstanding: number; ejected: number; ejections: number } {
    let outstanding = 0;
    for (const target of this.#all) outstanding += target.outstanding;
    let ejections = 0;
    for (const health of this.outliers.snapshot(now).values()) ejections += health.ejections;
    return { outstanding, ejected: this.outliers.outCount, ejections };
  }

  /** Figures of every instance, for `node.stats()`. */
  stats(now: number): ServiceStats {
    this.#refresh();
    const health = this.outliers.snapshot(now);
    return {
      service: this.service,
      version: this.range,
      instances: this.#all.map((target) => {
        const seen = health.get(target.id);
        return {
          node: target.name,
          nodeId: target.id,
          address: target.address,
          locality: LOCALITY_NAMES[target.tier],
          suspect: target.suspect,
          outstanding: target.outstanding,
          calls: target.calls,
          failures: target.failures,
          ewmaMs: round(target.latency.latency(now)),
          errorRate: round(seen?.errorRate ?? 0),
          state: seen?.state ?? "healthy",
          ejections: seen?.ejections ?? 0,
        };
      }),
    };
  }

  #pickIn(candidates: Target[], policy: ResolvedPolicy, key: string | undefined, exclude: ReadonlySet<Target> | null, now: number): Target | undefined {
    const outliers = this.outliers;
    if (policy.strategy === "hash" && key !== undefined) {
      // Walk the ring from the key's point: the first usable instance keeps keys sticky.
      for (const target of this.#ring(candidates).pickSequence(key, candidates.length)) {
        if (usable(target, policy, exclude, false) && outliers.allow(target.id, now)) return target;
      }
      return undefined;
    }
    // The common case: nothing ejected, suspected, excluded or limited — pick straight from the tier.
    if (outliers.outCount === 0 && this.#suspects === 0 && exclude === null && policy.maxPerInstance === Infinity) {
      return this.#choose(candidates, policy, now);
    }
    // An instance whose ejection ran out gets one trial call before the others.
    scratch.length = 0;
    for (const target of candidates) {
      if (!usable(target, policy, exclude, true)) continue;
      const state = outliers.state(target.id, now);
      if (state === "ejected") continue;
      if (state === "probing") {
        if (outliers.allow(target.id, now)) return target;
        continue;
      }
      scratch.push(target);
    }
    if (scratch.length === 0) {
      // Only suspected instances left: better one of them than none.
      for (const target of candidates) {
        if (target.suspect && usable(target, policy, exclude, false) && outliers.state(target.id, now) === "healthy") scratch.push(target);
      }
    }
    return scratch.length === 0 ? undefined : this.#choose(scratch, policy, now);
  }

  /**
   * The instance of this cluster that owns `key` by rendezvous hashing, or,
   * when it is unusable, the next one in the key's order (a server passes a
   * call on to the owner it sees). Routes through gateways are the last resort.
   */
  #pickOwner(policy: ResolvedPolicy, key: string, exclude: ReadonlySet<Target> | null, now: number): Target | undefined {
    const outliers = this.outliers;
    let best: Target | undefined;
    let bestScore = 0;
    for (const target of this.#inCluster) {
      const score = rendezvousScore(key, target.id);
      if (best === undefined || outranks(score, target.id, bestScore, best.id)) {
        best = target;
        bestScore = score;
      }
    }
    if (best !== undefined && usable(best, policy, exclude, false) && outliers.allow(best.id, now)) return best;
    // Rare: the owner was tried or is ejected. The others in the key's order.
    const ranked = this.#inCluster
      .filter((target) => target !== best)
      .map((target) => ({ target, score: rendezvousScore(key, target.id) }))
      .sort((a, b) => (outranks(a.score, a.target.id, b.score, b.target.id) ? -1 : 1));
    for (const { target } of ranked) if (usable(target, policy, exclude, false) && outliers.allow(target.id, now)) return target;
    const gateways = this.#all.filter((target) => target.tier === Locality.gateway);
    return gateways.length === 0 ? undefined : this.#pickIn(gateways, { ...policy, strategy: "p2c" }, undefined, exclude, now);
  }

  /**
   * The ids among which this balancer's calls with the `owner` strategy
   * choose an entity key's owner: its instances in this cluster.
   */
  ownerCandidates(): readonly Target[] {
    this.#refresh();
    return this.#inCluster;
  }

  #choose(candidates: Target[], policy: ResolvedPolicy, now: number): Target | undefined {
    if (candidates.length === 1) return candidates[0];
    switch (policy.strategy) {
      case "round-robin":
        return this.#roundRobin.next(candidates);
      case "random":
        return pickRandom(candidates, this.#random);
      default:
        return pickP2C(candidates, this.#random, now);
    }
  }

  #ring(candidates: Target[]): HashRing<Target> {
    let ring = this.#rings.get(candidates);
    if (!ring) {
      ring = new HashRing(candidates, (target) => target.id);
      this.#rings.set(candidates, ring);
    }
    return ring;
  }

  #refresh(): void {
    const epoch = this.#source.epoch;
    if (epoch === this.#epoch) return;
    this.#epoch = epoch;
    const seen = new Set<string>();
    const byId = this.#byId;
    this.#source.collectTargets(this.service, this.range, this.labels, (info) => {
      if (seen.has(info.id)) return;
      seen.add(info.id);
      const known = byId.get(info.id);
      if (known) known.update(info);
      else byId.set(info.id, new Target(info));
    });
    for (const id of byId.keys()) if (!seen.has(id)) byId.delete(id);
    this.outliers.setMembers(byId.keys());
    const all = [...byId.values()].sort((a, b) => a.tier - b.tier || a.routeCost - b.routeCost || (a.id < b.id ? -1 : 1));
    // Routes through gateways group by cost too: the cheapest route first, the dearer ones when it is unusable.
    const tiers: Target[][] = [];
    for (const target of all) {
      const last = tiers.at(-1);
      if (last && last[0]!.tier === target.tier && last[0]!.routeCost === target.routeCost) last.push(target);
      else tiers.push([target]);
    }
    this.#all = all;
    this.#inCluster = all.filter((target) => target.tier !== Locality.gateway);
    this.#tiers = tiers;
    this.#suspects = all.filter((target) => target.suspect).length;
    this.#rings.clear();
  }
}

/** Not tried yet by this call, under the per-instance limit, and (with `skipSuspect`) not suspected. */
function usable(target: Target, policy: ResolvedPolicy, exclude: ReadonlySet<Target> | null, skipSuspect: boolean): boolean {
  if (exclude !== null && exclude.has(target)) return false;
  if (skipSuspect && target.suspect) return false;
  return target.outstanding < policy.maxPerInstance;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
