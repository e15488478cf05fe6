import type { Member } from "../lookup/types.ts";
import { isBuiltInService } from "../rpc/reflection.ts";
import { AGGREGATE_VERSION, aggregatesIn } from "../route-rules/aggregate.ts";
import { isGateway, parseRoutes, type RouteEntry } from "../route-rules/route-label.ts";

/** A route to advertise into one cluster, and the cluster a call takes first. */
export interface Export extends RouteEntry {
  /** The cluster the gateway forwards the call into (the path's first). */
  readonly via: string;
}

/**
 * The routes a gateway advertises into cluster `into`: for every service
 * version live in its other clusters, the cheapest path to each cluster that
 * serves it, cheapest first. A real instance in cluster d costs `hopCost`
 * (path `[d]`); another gateway's route in d costs `hopCost` more than it
 * advertises (path `[d, …its path]`). A route whose path already crosses
 * `into` is left out — it would lead back — as are paths longer than
 * `maxHops`, members of the gateway itself (`own`) and gateways whose labels
 * say nothing readable of a service. Other gateways' aggregates (`shop.*`,
 * version `*`) are taken on alike, under their pattern.
 */
export function routesInto(
  into: string,
  views: ReadonlyMap<string, readonly Member[]>,
  own: ReadonlySet<string>,
  hopCost: number,
  maxHops: number,
): Map<string, Export[]> {
  // service@version → serving cluster → the best way there.
  const best = new Map<string, Map<string, Export>>();
  const offer = (candidate: Export): void => {
    const key = `${candidate.service}@${candidate.version}`;
    let byDestination = best.get(key);
    if (!byDestination) best.set(key, (byDestination = new Map()));
    const destination = candidate.path.at(-1)!;
    const known = byDestination.get(destination);
    if (!known || better(candidate, known)) byDestination.set(destination, candidate);
  };
  for (const [cluster, members] of views) {
    if (cluster === into) continue;
    for (const member of members) {
      const record = member.record;
      if ((member.state !== "alive" && member.state !== "suspect") || own.has(record.id)) continue;
      const gateway = isGateway(record.labels);
      const onward = (service: string, version: string): void => {
        for (const route of parseRoutes(record.labels, service, version)) {
          if (route.path.includes(into) || route.path.includes(cluster) || route.path.length + 1 > maxHops) continue;
          offer({ service, version, cost: route.cost + hopCost, path: [cluster, ...route.path], via: cluster });
        }
      };
      for (const [service, version] of record.services) {
        if (isBuiltInService(service)) continue;
        if (gateway) onward(service, version);
        else offer({ service, version, cost: hopCost, path: [cluster], via: cluster });
      }
      if (gateway) for (const pattern of aggregatesIn(record.labels)) onward(pattern, AGGREGATE_VERSION);
    }
  }
  const out = new Map<string, Export[]>();
  for (const [key, byDestination] of best) out.set(key, [...byDestination.values()].sort((a, b) => (better(a, b) ? -1 : 1)));
  return out;
}

/** Cheaper first, then shorter, then by name: every gateway decides alike. */
export function better(a: Export, b: Export): boolean {
  if (a.cost !== b.cost) return a.cost < b.cost;
  if (a.path.length !== b.path.length) return a.path.length < b.path.length;
  return a.path.join(">") < b.path.join(">");
}
