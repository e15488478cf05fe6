/**
 * Aggregates: one route a gateway advertises for every service of a
 * namespace (`shop.*`) or for every service (`*`), instead of one per
 * service. It travels as a route label like any other — `amoeba.route.shop.*`,
 * with the version `*` — and callers take it for a service that has no
 * instance and no route of its own: the longest pattern that covers the
 * name, then the cheapest. Pure: no I/O.
 */
import type { Instance, Member } from "../lookup/types.ts";
import { isBuiltInService } from "../rpc/reflection.ts";
import { isGateway, ROUTE_LABEL_PREFIX } from "./route-label.ts";

/** The version an aggregate is advertised with: it stands for every version of every service it covers. */
export const AGGREGATE_VERSION = "*";

// `*`, or dot-separated words (as service names are) and `.*`.
const PATTERN = /^(?:[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)*\.)?\*$/;

/** Whether `name` is an aggregate's pattern (`shop.*`, `*`) rather than a service's name (which never holds `*`). */
export function isAggregate(name: string): boolean {
  return name.endsWith("*");
}

/** Whether `pattern` is a well-formed aggregate: `*`, or dot-separated words ending in `.*`. */
export function isAggregatePattern(pattern: string): boolean {
  return PATTERN.test(pattern);
}

/** Whether aggregate `pattern` covers `service`: `shop.*` covers `shop.cart` and `shop.eu.cart`, not `shop` nor `shopping.cart`; Amoeba's own services are never covered. */
export function covers(pattern: string, service: string): boolean {
  if (isBuiltInService(service)) return false;
  return service.startsWith(pattern.slice(0, -1)) && service.length >= pattern.length;
}

/** Whether every name aggregate `inner` covers, `outer` covers too (`shop.*` is within `shop.*` and `*`). */
export function within(inner: string, outer: string): boolean {
  return inner.startsWith(outer.slice(0, -1));
}

/** The patterns of the aggregates a gateway's labels advertise. */
export function aggregatesIn(labels: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const key in labels) {
    if (key.endsWith("*") && key.startsWith(ROUTE_LABEL_PREFIX)) {
      const pattern = key.slice(ROUTE_LABEL_PREFIX.length);
      if (isAggregatePattern(pattern)) out.push(pattern);
    }
  }
  return out;
}

/**
 * The gateways' aggregates that cover `service`, as instances a balancer can
 * take (service: the pattern, version: `*`): only those of the longest
 * pattern that covers it — longest-prefix match — one per gateway; the cost
 * of each is in its route label, as for any route. Meant for a service with
 * no instance of its own: an exact route or instance always wins.
 */
export function aggregateInstances(members: readonly Member[], service: string): Instance[] {
  let longest = -1;
  const found: Array<{ member: Member; pattern: string }> = [];
  for (const member of members) {
    if (member.state !== "alive" && member.state !== "suspect") continue;
    const labels = member.record.labels;
    if (!isGateway(labels)) continue;
    let best: string | undefined;
    for (const pattern of aggregatesIn(labels)) {
      if (covers(pattern, service) && (best === undefined || pattern.length > best.length)) best = pattern;
    }
    if (best === undefined || best.length < longest) continue;
    if (best.length > longest) {
      longest = best.length;
      found.length = 0;
    }
    found.push({ member, pattern: best });
  }
  return found.map(({ member, pattern }) => {
    const record = member.record;
    return {
      service: pattern,
      version: AGGREGATE_VERSION,
      node: { id: record.id, name: record.name, cluster: record.cluster },
      addresses: record.addresses,
      labels: record.labels,
      load: record.load,
      state: member.state,
    };
  });
}
