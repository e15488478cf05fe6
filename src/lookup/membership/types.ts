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
 * A change in the view. `join`: first seen; `update`: its record changed;
 * `alive`: back from suspect, dead or left. A restart under the same name shows
 * as `left` for the old id, then `join` for the new one.
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
