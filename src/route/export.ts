/** A route as a gateway advertises it, and the order every gateway ranks routes in. Pure: no I/O. */
import type { RouteEntry } from "../route-rules/route-label.ts";

/** A route to advertise into one cluster, and the cluster a call takes first. */
export interface Export extends RouteEntry {
  /** The cluster the gateway forwards the call into (the path's first). */
  readonly via: string;
}

/** Cheaper first, then shorter, then by name: every gateway decides alike. */
export function better(a: Export, b: Export): boolean {
  return compareRoutes(a, b) < 0;
}

/** {@link better} as a sort order: negative when `a` comes first, 0 for the same cost and path. */
export function compareRoutes(a: Export, b: Export): number {
  if (a.cost !== b.cost) return a.cost - b.cost;
  if (a.path.length !== b.path.length) return a.path.length - b.path.length;
  if (a.path === b.path) return 0;
  const x = a.path.join(">");
  const y = b.path.join(">");
  return x < y ? -1 : x > y ? 1 : 0;
}
