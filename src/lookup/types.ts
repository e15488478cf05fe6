/** What each node says about itself to the look-up service (gossip or registry). */
export interface MemberRecord {
  /** Unique per process start. */
  id: string;
  /** A readable name; a restart under the same name is a new id that replaces the old one. */
  name: string;
  cluster: string;
  /** Where its membership traffic goes (`udp://…`), or where the registry saw it from. */
  gossip: string;
  /** Its RPC addresses (`tcp://…`, `unix://…`). */
  addresses: string[];
  labels: Record<string, string>;
  services: Array<[name: string, version: string]>;
  /** A load figure: calls in flight. */
  load: number;
}

/** How the look-up service sees a member. */
export type MemberState = "alive" | "suspect" | "dead" | "left";

/** A member and its state. */
export interface Member {
  record: MemberRecord;
  state: MemberState;
  incarnation: number;
  /** When it entered this state (ms, on the look-up clock). */
  since: number;
}

/** A change in the membership. */
export interface MembershipEvent {
  type: "join" | "update" | "suspect" | "alive" | "dead" | "left";
  member: Member;
}

/** One live instance of a service: a service served by a node. */
export interface Instance {
  service: string;
  version: string;
  node: { id: string; name: string; cluster: string };
  addresses: string[];
  labels: Record<string, string>;
  load: number;
  state: MemberState;
}

/** What `lookup` and `watch` filter on. */
export interface LookupOptions {
  /** A semver range such as `^1.2`. Default: any version. */
  version?: string;
  /** Labels every instance must carry, e.g. `{ zone: "a" }`. */
  labels?: Record<string, string>;
}

/** A change seen by `watch`. */
export interface LookupChange {
  type: "added" | "removed" | "updated";
  instance: Instance;
}
