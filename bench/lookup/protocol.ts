import type { TrafficCounts } from "./traffic.ts";

/** Messages between the look-up bench and its member processes (fork IPC, JSON). */

/** What a member process is started with (its argv[2], as JSON). */
export interface MemberArgument {
  name: string;
  cluster: string;
  /** Gossip addresses to join through; empty for the first node. */
  seeds: string[];
  /** A service to serve as soon as the node has started. */
  serve?: string;
  /** Background services (`bench.background-<i>`) served from the start: their catalogs travel apart from gossip. */
  services?: number;
}

/** Orchestrator → member. Every watch carries its own time limit. */
export type ToMember =
  /** Report `seen` when a node serving `service` appears in the look-up (`added`). */
  | { type: "watch-service"; service: string; limitMs: number }
  /** Report `seen` when node `id`'s instance of `service` is removed (declared dead). */
  | { type: "watch-dead"; service: string; id: string; limitMs: number }
  /** Start serving `service` now; answers `served`. */
  | { type: "serve"; service: string }
  /** Answers `traffic`. */
  | { type: "traffic" };

/** Member → orchestrator. Times are ms since the epoch with sub-ms precision (same clock in every process). */
export type FromMember =
  | { type: "ready"; id: string; gossip: string; pid: number; startedAt: number; joinedAt: number; servedAt: number | null }
  | { type: "watching"; key: string }
  /** `at` is null when the limit passed first, or when the member never knew the node (`known: false`). */
  | { type: "seen"; key: string; at: number | null; known?: boolean }
  | { type: "served"; service: string; at: number }
  | { type: "traffic"; counts: TrafficCounts; active: number; members: number; rss: number }
  | { type: "error"; message: string };

/** The key `watching` and `seen` answer a watch with. */
export function watchKey(message: Extract<ToMember, { type: "watch-service" | "watch-dead" }>): string {
  return message.type === "watch-service" ? `service:${message.service}` : `dead:${message.id}`;
}

/** Wall-clock time in ms with sub-ms precision, comparable between processes of one machine. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
