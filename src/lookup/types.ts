export type { Member, MemberRecord, MemberState, MembershipEvent } from "./membership/types.ts";
import type { MemberState } from "./membership/types.ts";

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
