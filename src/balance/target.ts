import type { Invoke } from "../rpc/client.ts";
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
  /** The look-up suspects the node: used only when no unsuspected instance is usable. */
  suspect: boolean;
  invoke: Invoke;
}

/**
 * One instance of a service as a balancer sees it: how to reach it and what
 * calls to it have shown. Its figures outlive look-up refreshes.
 */
export class Target {
  readonly id: string;
  name: string;
  address: string;
  tier: LocalityTier;
  suspect: boolean;
  invoke: Invoke;
  /** Calls from this node in flight to it. */
  outstanding = 0;
  calls = 0;
  failures = 0;
  readonly latency = new PeakEwma();

  constructor(info: TargetInfo) {
    this.id = info.id;
    this.name = info.name;
    this.address = info.address;
    this.tier = info.tier;
    this.suspect = info.suspect;
    this.invoke = info.invoke;
  }

  update(info: TargetInfo): void {
    this.name = info.name;
    this.address = info.address;
    this.tier = info.tier;
    this.suspect = info.suspect;
    this.invoke = info.invoke;
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
   * A call to it ended after `latencyMs`. A failure counts as a slow answer
   * (at least 4× the current estimate), so that an instance failing fast does
   * not look like the fastest one.
   */
  end(ok: boolean, latencyMs: number, now: number): void {
    this.outstanding--;
    if (ok) {
      this.latency.observe(latencyMs, now);
    } else {
      this.failures++;
      this.latency.observe(Math.max(latencyMs, 4 * this.latency.latency(now), FAILURE_FLOOR_MS), now);
    }
  }
}

/** The latency a failure counts as, at the least. */
const FAILURE_FLOOR_MS = 100;
