import type { Member, MemberRecord, MembershipEvent } from "./types.ts";

/**
 * The seam between a node and a look-up service: gossip membership
 * (peer-to-peer) and the registry client (client-server) both implement it,
 * and the catalog is built on either the same way.
 */
export interface LookupBackend {
  /** Joins: from now on `members()` and events describe the cluster. */
  start(): Promise<void>;
  /** Every member known, this node included. */
  members(): Member[];
  /** Changes this node's own record (services, load, labels, addresses). */
  update(change: Partial<Pick<MemberRecord, "services" | "load" | "labels" | "addresses">>): void;
  /** Receives membership changes; returns the function that stops it. */
  on(listener: (event: MembershipEvent) => void): () => void;
  /** Leaves gracefully: others see this node as "left", not "dead". */
  leave(timeoutMs?: number): Promise<void>;
  /** Stops without telling anyone. */
  stop(): Promise<void>;
}
