/**
 * The labels a gateway publishes for the routes it advertises into one
 * cluster: one `amoeba.route.<service>` per service (or aggregate), listing
 * the routes of all its versions, cheapest first. Pure: no I/O.
 */
import { CATALOG_LIMITS } from "../lookup/catalog-sync/index.ts";
import { encodeRoutes } from "../route-rules/route-label.ts";
import type { Export } from "./export.ts";

/** The longest route label the look-up's catalog carries (routes travel in the catalog, not in gossip). */
export const MAX_ROUTE_LABEL = CATALOG_LIMITS.labelValue;

/**
 * The label value for the routes to one service (all its versions),
 * cheapest first; undefined when there is none (the label is withdrawn).
 * `cut` says the dearest routes were left out to fit {@link MAX_ROUTE_LABEL}.
 */
export function routeLabelValue(entries: readonly Export[]): { value: string | undefined; cut: boolean } {
  if (entries.length === 0) return { value: undefined, cut: false };
  const value = encodeRoutes([...entries].sort((a, b) => a.cost - b.cost));
  if (value.length <= MAX_ROUTE_LABEL) return { value, cut: false };
  return { value: value.slice(0, value.lastIndexOf(" ", MAX_ROUTE_LABEL)), cut: true };
}

/**
 * The routes of each service (all its versions) in `lists` (each the routes
 * of one `service@version`), of the services in `only` when given.
 */
export function routesByService(lists: Iterable<readonly Export[]>, only?: ReadonlySet<string>): Map<string, Export[]> {
  const byService = new Map<string, Export[]>();
  for (const routes of lists) {
    const service = routes[0]?.service;
    if (service === undefined || (only !== undefined && !only.has(service))) continue;
    const list = byService.get(service);
    if (list) list.push(...routes);
    else byService.set(service, [...routes]);
  }
  return byService;
}
