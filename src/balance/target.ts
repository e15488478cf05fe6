import type { ClientNext as Invoke } from "../rpc/context.ts";
import { PeakEwma } from "./peak-ewma.ts";

/** How near an instance is; lower is nearer. */
export const Locality = { process: 0, host: 1, cluster: 2, gateway: 3 } as const;
export type LocalityTier = (typeof Locality)[keyof typeof Locality];
export const LOCALITY_NAMES = ["process", "host", "cluster", "gateway"] as const;

/** Where an instance is and how to reach it, as the node describes it to a balancer. */
export interface TargetInfo {
  /** The node id of the instance. */
  id: string;
  name: string;
  address: string;
  tier: LocalityTier;
  /** Within a tier, lower is preferred: a gateway route's cost (0 for the rest). */
  routeCost?: number;
  /** The look-up suspects the node: used only when no unsuspected instance is usable. */
  suspect: boolean;
  invoke: Invoke;
  /**
   * Whether a call would go out at once. A call that must first dial and
   * shake hands says nothing of the instance's speed: its latency is not counted.
   */
  connected?: () => boolean;
}

/**
 * One instance of a service as a balancer sees it: how to reach it and what
 * calls to it have shown. Its figures outlive look-up refreshes.
 */
export class Target {
  readonly id: string;
  // Set by update(), which the constructor calls: a refresh changes them all.
  name!: string;
  address!: string;
  tier!: LocalityTier;
  routeCost!: number;
  suspect!: boolean;
  invoke!: Invoke;
  connected!: () => boolean;
  /** Calls from this node in flight to it. */
  outstanding = 0;
  calls = 0;
  failures = 0;
  readonly latency = new PeakEwma();
  /** The same estimate fed by successes only: what a failure's penalty is measured against. */
  readonly #answering = new PeakEwma();
  /**
   * The low end of the time a call spends outside the instance (network and
   * this node's own event loop): drops at once, creeps up slowly. Added to the
   * instance's own time, it keeps this node's stalls — which delay every
   * instance's answers alike — out of the comparison.
   */
  #transit: number | undefined;
  /** When the transit floor last took a sample, ms. */
  #transitAt = 0;

  constructor(info: TargetInfo) {
    this.id = info.id;
    this.update(info);
  }

  /** Takes what a look-up refresh says of it now (its figures stay). */
  update(info: TargetInfo): void {
    this.name = info.name;
    this.address = info.address;
    this.tier = info.tier;
    this.routeCost = info.routeCost ?? 0;
    this.suspect = info.suspect;
    this.invoke = info.invoke;
    this.connected = info.connected ?? alwaysConnected;
  }

  /** The p2c cost: peak-EWMA latency × (calls in flight + 1). */
  cost(now: number): number {
    return this.latency.cost(now, this.outstanding);
  }

  /** A call to it starts. */
  begin(): void {
    this.outstanding++;
    this.calls++;
  }

  /**
   * A call to it ended after `latencyMs` (undefined: not measured, e.g. it
   * included a dial); `serverMs` is the time the instance itself reported.
   * A success counts as the instance's time plus the low end of the transit
   * time when the instance reported one, else as measured. A failure counts as
   * a slow answer — 4× what its successes showed — so that an instance failing
   * fast does not look like the fastest one; measured against successes only,
   * repeated failures do not compound, and the instance is back in rotation
   * once the estimate fades.
   */
  end(ok: boolean, latencyMs: number | undefined, now: number, serverMs?: number): void {
    this.outstanding--;
    if (ok) {
      if (latencyMs === undefined) return;
      let seen = latencyMs;
      if (serverMs !== undefined && serverMs <= latencyMs) {
        const transit = latencyMs - serverMs;
        const floor = this.#transit;
        // Answers closer together creep less: those one stall of this node held up arrive together, and are one sample.
        const creep = TRANSIT_CREEP * Math.min(1, (now - this.#transitAt) / TRANSIT_SPACING_MS);
        this.#transit = floor === undefined || transit < floor ? transit : floor + (transit - floor) * creep;
        this.#transitAt = now;
        seen = serverMs + this.#transit;
      }
      this.latency.observe(seen, now);
      this.#answering.observe(seen, now);
    } else {
      this.failures++;
      this.latency.observe(Math.max(latencyMs ?? 0, FAILURE_PENALTY * this.#answering.latency(now)), now);
    }
  }

  /** A call to it ended without telling anything of the instance (it refused for load: busy, not broken). */
  release(): void {
    this.outstanding--;
  }
}

const FAILURE_PENALTY = 4;
/** How far the transit floor moves towards a higher sample, per call at most... */
const TRANSIT_CREEP = 0.05;
/** ...for calls this far apart or more, ms: whatever the call rate, the floor follows a slower path within seconds. */
const TRANSIT_SPACING_MS = 100;
const alwaysConnected = (): boolean => true;
