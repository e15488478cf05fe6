import type { MembershipConfig } from "./config.ts";

/** What each member says about itself; gossiped, versioned by its incarnation. */
export interface MemberRecord {
  /** Unique per process start. */
  id: string;
  /** Human name. A restart under the same name is a new id that replaces the old one. */
  name: string;
  /** The cluster it belongs to; records of another cluster are refused. */
  cluster: string;
  /** Its gossip address, e.g. `udp://127.0.0.1:7946`. */
  gossip: string;
  /** Its RPC addresses (`tcp://…`, `unix://…`). */
  addresses: string[];
  labels: Record<string, string>;
  /** The services it serves, as `[name, version]`. */
  services: Array<[name: string, version: string]>;
  /** A load figure, e.g. calls in flight. */
  load: number;
  /**
   * The method names of each service, by `name@version`, when known. Not
   * gossiped: filled in from the member's catalog (see src/lookup/catalog-sync).
   */
  methods?: Readonly<Record<string, readonly string[]>>;
  /**
   * When the process started, in ms since the epoch. Of two ids under one name,
   * the one that started later replaces the other; an equal start never evicts
   * a live member. Filled in when absent.
   */
  started?: number;
}

/** `left` is a graceful leave; `dead` a failure detected by probes. */
export type MemberState = "alive" | "suspect" | "dead" | "left";

/** One member as this node sees it. */
export interface Member {
  readonly record: Readonly<MemberRecord>;
  readonly state: MemberState;
  /** Versions what the member says about itself; only the member raises it. */
  readonly incarnation: number;
  /** Clock time (ms) of the last change of state. */
  readonly since: number;
}

/**
 * A change in the view. `join`: first seen alive; `update`: its record changed;
 * `alive`: back from suspect, dead or left. A restart under the same name shows
 * as `left` for the old id, then `join` for the new one. A member that had
 * already died or left when this node first heard of it (a newcomer learning
 * the cluster's recent past) shows as `dead` or `left` with no `join` before.
 */
export interface MembershipEvent {
  type: "join" | "update" | "suspect" | "alive" | "dead" | "left";
  member: Member;
}

/** Datagrams between gossip addresses. Delivery may lose, delay, duplicate or reorder. */
export interface GossipTransport {
  /** Its own address as peers reach it, with the real port. */
  readonly address: string;
  /** Sends one datagram; never throws (a failure is a loss). */
  send(to: string, bytes: Uint8Array): void;
  /** Sets the one receiver of datagrams; `from` is the sender's address. */
  onMessage(handler: (from: string, bytes: Uint8Array) => void): void;
  close(): Promise<void>;
}

/** Time and timers, injectable so that a simulation can run them. */
export interface Clock {
  /** Milliseconds; only differences matter to the protocol. */
  now(): number;
  /** Calls `fn` once after `delayMs`; returns a function that cancels it. */
  setTimer(delayMs: number, fn: () => void): () => void;
}

/** Where membership logs; the project's Logger fits. */
export interface MembershipLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Options of {@link createMembership}. */
export interface MembershipOptions {
  /** What this node says about itself. `started` is filled in when absent. */
  self: MemberRecord;
  /** Datagrams to and from the other members; closed by `stop`. */
  transport: GossipTransport;
  /** Timing and sizes; see {@link MembershipConfig}. Default: the LAN profile. */
  config?: Partial<MembershipConfig>;
  /**
   * The cluster key: every datagram carries an HMAC-SHA256 under it, and one with a
   * wrong or missing MAC is dropped. Every member needs the same key.
   */
  key?: string | Uint8Array;
  /** Time and timers. Default: the system clock. */
  clock?: Clock;
  /** Uniform in [0, 1). Default: `Math.random`. A seeded one makes a simulation repeatable. */
  random?: () => number;
  /**
   * Members known from the start, taken as alive at the given incarnation as if
   * learned in an exchange (no events, no gossip, not checked). For simulations
   * that start from a formed cluster — every node knowing every member, as after
   * a long run — rather than replaying its formation. A real node learns its
   * view by joining. Read when the membership is created; the same array,
   * unchanged, given to many nodes is resolved once.
   */
  knownMembers?: ReadonlyArray<{ record: MemberRecord; incarnation: number }>;
  logger?: MembershipLogger;
}

/** What `update` may change in a node's own record. */
export type MemberUpdate = Partial<Pick<MemberRecord, "services" | "load" | "labels" | "addresses">>;

/** Counters, for tests and metrics. */
export interface MembershipStats {
  /** Datagrams sent and received. */
  sent: number;
  received: number;
  /** Datagrams dropped: unsealed, wrong MAC, malformed, oversized, another cluster. */
  dropped: number;
  /** Times this node refuted news of its own suspicion, death or leave. */
  refuted: number;
  /** Local health score (0 is healthy); timeouts are stretched by `awareness + 1`. */
  awareness: number;
  /** Members this node holds alive or suspect, itself included (the `n` of the formulas). */
  active: number;
}

/** A node's view of its cluster, kept current by gossip. */
export interface Membership {
  /** This node's own entry. */
  readonly self: Member;
  /**
   * Starts probing and gossiping, and joins through `seeds` (gossip addresses).
   * Resolves once a seed answered, or after `joinTimeout`; seeds are retried in
   * the background while no other member is known. No seeds: a cluster of one.
   */
  start(seeds?: string[]): Promise<void>;
  /** Every known member, this node included, in every state. */
  members(): Member[];
  get(id: string): Member | undefined;
  /**
   * Changes this node's record, raises its incarnation and spreads the news.
   * Throws a RangeError when the record would not fit in a gossip packet.
   */
  update(change: MemberUpdate): void;
  /** Calls `listener` on every change of the view; returns a function that stops it. */
  on(listener: (event: MembershipEvent) => void): () => void;
  /**
   * Announces a graceful leave (others mark this node `left`, not `dead`), waits
   * until the announcement was sent or `timeoutMs` passed, then stops.
   */
  leave(timeoutMs?: number): Promise<void>;
  /** Stops timers and closes the transport, announcing nothing (others will see a crash). */
  stop(): Promise<void>;
  stats(): MembershipStats;
}
