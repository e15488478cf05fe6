/**
 * What one member of a cluster contributes to a gateway's route table into
 * another cluster: its candidate routes, by `service@version`. Worked out
 * when its record changes, not on every pass; a gateway member's new
 * record re-reads only the route labels whose text changed, and keeps the
 * candidates of the others as they were. Pure: no I/O.
 */
import type { Member, MemberRecord } from "../lookup/types.ts";
import { isBuiltInService } from "../rpc/reflection.ts";
import { AGGREGATE_VERSION, aggregatesIn } from "../route-rules/aggregate.ts";
import { isGateway, parseRoutes, ROUTE_LABEL_PREFIX } from "../route-rules/route-label.ts";
import type { PathPool } from "./path-pool.ts";
import type { Export } from "./export.ts";

/** One member's part of a route table, as worked out from one record. */
export interface Contribution {
  readonly record: Readonly<MemberRecord>;
  /** Alive or suspect, and not one of the gateway's own members: only then does it offer routes. */
  readonly live: boolean;
  readonly gateway: boolean;
  /** Its candidate routes by `service@version`; a key it offers nothing for is absent. */
  readonly byKey: ReadonlyMap<string, readonly Export[]>;
}

/** What a contribution depends on besides the member: fixed for one table and one cluster. */
export interface Derivation {
  /** The cluster the table's routes are advertised into. */
  readonly into: string;
  /** The cluster the member is in. */
  readonly cluster: string;
  readonly own: ReadonlySet<string>;
  readonly hopCost: number;
  readonly maxHops: number;
  readonly paths: PathPool;
}

/** Whether `member` still stands for `held`: the same record (records are immutable), alive or not alike. */
export function unchanged(held: Contribution, member: Member, own: ReadonlySet<string>): boolean {
  return held.record === member.record && held.live === isLive(member, own);
}

/**
 * The contribution of `member`: a real instance of a service in cluster c
 * costs `hopCost` (path `[c]`); a route a gateway advertises there costs
 * `hopCost` more (path `[c, …its path]`), left out when its path crosses
 * `into` or c, or passes `maxHops`. Candidates of `previous` (the same
 * member's last contribution) are taken over where nothing they depend on
 * changed; the caller gives back the paths of those not taken over.
 */
export function contributionOf(member: Member, previous: Contribution | undefined, d: Derivation): Contribution {
  const record = member.record;
  const live = isLive(member, d.own);
  const gateway = isGateway(record.labels);
  const byKey = new Map<string, readonly Export[]>();
  if (!live) return { record, live, gateway, byKey };
  const before = previous?.live && previous.gateway === gateway ? previous : undefined;
  const onward = (service: string, version: string, key: string): readonly Export[] => {
    const label = ROUTE_LABEL_PREFIX + service;
    const kept = before?.byKey.get(key);
    if (kept && before!.record.labels[label] === record.labels[label]) return kept;
    const out: Export[] = [];
    for (const route of parseRoutes(record.labels, service, version)) {
      if (route.path.includes(d.into) || route.path.includes(d.cluster) || route.path.length + 1 > d.maxHops) continue;
      out.push({ service, version, cost: route.cost + d.hopCost, path: d.paths.acquire(d.cluster, route.path), via: d.cluster });
    }
    return out;
  };
  const offer = (service: string, version: string, fromLabels: boolean): void => {
    const key = `${service}@${version}`;
    // A service listed twice offers the same routes twice: once is enough.
    if (byKey.has(key)) return;
    const routes = fromLabels ? onward(service, version, key) : (before?.byKey.get(key) ?? [{ service, version, cost: d.hopCost, path: d.paths.acquire(d.cluster, []), via: d.cluster }]);
    if (routes.length > 0) byKey.set(key, routes);
  };
  for (const [service, version] of record.services) if (!isBuiltInService(service)) offer(service, version, gateway);
  if (gateway) for (const pattern of aggregatesIn(record.labels)) offer(pattern, AGGREGATE_VERSION, true);
  return { record, live, gateway, byKey };
}

/** Gives back the paths of `routes`, no longer held. */
export function releaseRoutes(routes: readonly Export[], paths: PathPool): void {
  for (const route of routes) paths.release(route.path);
}

function isLive(member: Member, own: ReadonlySet<string>): boolean {
  return (member.state === "alive" || member.state === "suspect") && !own.has(member.record.id);
}
