/**
 * How gateways tell a cluster what they can reach: labels on their look-up
 * record. `amoeba.gateway` lists the clusters a gateway joins; one
 * `amoeba.route.<service>` label per service it forwards says, per version,
 * what the route costs and which clusters it crosses. Pure: no I/O.
 */

/** The label every gateway member carries: the clusters it joins, comma-separated. */
export const GATEWAY_LABEL = "amoeba.gateway";
/** The prefix of the label that describes the routes to one service. */
export const ROUTE_LABEL_PREFIX = "amoeba.route.";
/** The cost assumed for a gateway's instance whose route label is missing or unreadable: after every known route. */
export const UNKNOWN_ROUTE_COST = 1_000_000;
/** What a cluster name in a route may be: it is written between separators. */
export const CLUSTER_NAME = /^[A-Za-z0-9][\w.-]{0,127}$/;

/** One route a gateway offers to a service version. */
export interface Route {
  /** The sum of the costs of the gateways crossed; lower is preferred. */
  readonly cost: number;
  /** The clusters crossed after the caller's, the one serving it last. */
  readonly path: readonly string[];
}

/** One route as advertised: which service version, and how it is reached. */
export interface RouteEntry extends Route {
  readonly service: string;
  readonly version: string;
}

// version:cost:cluster>cluster — cluster names never hold ':', '>' or spaces.
const ENTRY = /^([^\s:]+):(\d{1,9}):([^\s:]+)$/;

/** The label value for the routes to the versions of one service: `1.2.0:2:core>region-b 2.0.0:1:core`. */
export function encodeRoutes(entries: readonly RouteEntry[]): string {
  return entries.map((entry) => `${entry.version}:${entry.cost}:${entry.path.join(">")}`).join(" ");
}

/** Whether a member's labels mark it as a gateway. */
export function isGateway(labels: Readonly<Record<string, string>>): boolean {
  return labels[GATEWAY_LABEL] !== undefined;
}

/**
 * The routes a gateway's labels advertise to `service@version` — one per
 * cluster that serves it, cheapest first — or none when they say nothing
 * readable of it. Never throws: labels come from the network.
 */
export function parseRoutes(labels: Readonly<Record<string, string>>, service: string, version: string): Route[] {
  const text = labels[ROUTE_LABEL_PREFIX + service];
  if (typeof text !== "string") return [];
  const routes: Route[] = [];
  for (const item of text.split(" ")) {
    const match = ENTRY.exec(item);
    if (!match || match[1] !== version) continue;
    const path = match[3]!.split(">");
    if (path.every((cluster) => CLUSTER_NAME.test(cluster))) routes.push({ cost: Number(match[2]), path });
  }
  return routes.sort((a, b) => a.cost - b.cost);
}

/** The cheapest route a gateway's labels advertise to `service@version`, or undefined. */
export function parseRoute(labels: Readonly<Record<string, string>>, service: string, version: string): Route | undefined {
  return parseRoutes(labels, service, version)[0];
}

/**
 * The route an instance found by look-up stands for: undefined for a real
 * instance, else what its gateway advertises (an unknown cost when it says
 * nothing readable, so that it comes after every known route).
 */
export function routeOf(instance: { readonly service: string; readonly version: string; readonly labels: Readonly<Record<string, string>> }): Route | undefined {
  if (!isGateway(instance.labels)) return undefined;
  return parseRoute(instance.labels, instance.service, instance.version) ?? { cost: UNKNOWN_ROUTE_COST, path: [] };
}
