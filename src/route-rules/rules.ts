import { RpcError } from "../rpc/rpc-error.ts";
import { isVersionRange } from "../rpc/version.ts";
import { CLUSTER_NAME } from "./route-label.ts";

/** Call metadata: route rules for this call only, in the text form of {@link parseRouteRules}; gateways on the way apply them too. */
export const ROUTE_META = "amoeba-route";

/**
 * How calls of one service choose where to go, besides locality and cost.
 * Anchored on Finagle's Dtabs and Envoy's routes, kept small.
 */
export interface RouteRule {
  /** The service it applies to. */
  service: string;
  /** Shares of calls by version range, e.g. `{ "1.2.x": 90, "1.3.0-canary": 10 }` for a canary; a range with no instance gets none. */
  weights?: Record<string, number>;
  /** Clusters that serve it in the order to prefer them — the next when none of the first is usable; others after all of them. */
  clusters?: string[];
  /** Only instances in this cluster, or routes that lead there. */
  pin?: string;
}

/** Rules by service, checked. */
export type RouteRules = ReadonlyMap<string, Readonly<RouteRule>>;

const SERVICE = /^[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)*$/;
const MAX_TEXT = 4_096;
const DIRECTIVES: ReadonlySet<string> = new Set(["weights", "clusters", "pin"]);

/**
 * Checks rules given in code, or parses their text form, used in files and
 * in the `amoeba-route` call metadata: one directive per line or between
 * semicolons, `#` starts a comment.
 *
 * ```text
 * calculator weights 1.2.x=90 1.3.0=10   # a 90/10 canary
 * payments clusters core region-b        # core first, region-b when core has none
 * geo pin region-b                       # only region-b
 * ```
 *
 * Several directives for one service add up. A TypeError says what is wrong.
 */
export function parseRouteRules(rules: string | readonly RouteRule[]): RouteRules {
  const out = new Map<string, RouteRule>();
  const add = (rule: RouteRule): void => {
    checkRule(rule);
    out.set(rule.service, { ...out.get(rule.service), ...rule });
  };
  if (typeof rules !== "string") {
    if (!Array.isArray(rules)) throw new TypeError("route rules must be an array of { service, weights?, clusters?, pin? } or their text form");
    for (const rule of rules) add(rule);
    return out;
  }
  if (rules.length > MAX_TEXT) throw new TypeError(`route rules are longer than ${MAX_TEXT} characters`);
  for (const raw of rules.split(/[\n;]/)) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const [service, directive, ...args] = line.split(/\s+/);
    const where = `route rule "${line}"`;
    if (directive === undefined) throw new TypeError(`${where}: expected <service> weights|clusters|pin …`);
    if (!DIRECTIVES.has(directive)) throw new TypeError(`${where}: unknown directive "${directive}"; use weights, clusters or pin`);
    if (args.length === 0) throw new TypeError(`${where}: ${directive} needs values`);
    switch (directive) {
      case "weights": {
        const pairs = args.map((pair): [string, number] => {
          const [range, weight] = pair.split("=");
          if (range === undefined || weight === undefined || !/^\d{1,6}$/.test(weight)) throw new TypeError(`${where}: weights are <version range>=<whole number>, not "${pair}"`);
          return [range, Number(weight)];
        });
        // fromEntries makes own properties, even of a key such as __proto__ (which then fails as no version range).
        add({ service: service!, weights: Object.fromEntries(pairs) });
        break;
      }
      case "clusters":
        add({ service: service!, clusters: args });
        break;
      default: // pin
        if (args.length !== 1) throw new TypeError(`${where}: pin takes one cluster`);
        add({ service: service!, pin: args[0]! });
        break;
    }
  }
  return out;
}

/**
 * The text form of what a rule says of where calls go (pin and failover
 * order; weights are chosen once, by the caller), to carry it in a call's
 * metadata to the gateways on the way. Empty when there is nothing to carry.
 */
export function placementText(rule: Readonly<RouteRule>): string {
  const parts: string[] = [];
  if (rule.pin !== undefined) parts.push(`${rule.service} pin ${rule.pin}`);
  if (rule.clusters) parts.push(`${rule.service} clusters ${rule.clusters.join(" ")}`);
  return parts.join("; ");
}

/** The rules a call's metadata carries, or an INVALID_ARGUMENT naming the call when they are unreadable. */
export function metaRouteRules(text: string, service: string, method: string): RouteRules | RpcError {
  try {
    return parseRouteRules(text);
  } catch (error) {
    return new RpcError("INVALID_ARGUMENT", `${service}.${method}: metadata ${ROUTE_META}: ${(error as Error).message}`, { service, method, unprocessed: true });
  }
}

function checkRule(rule: RouteRule): void {
  if (typeof rule !== "object" || rule === null) throw new TypeError("a route rule must be an object { service, weights?, clusters?, pin? }");
  if (typeof rule.service !== "string" || !SERVICE.test(rule.service)) throw new TypeError(`route rule: "${String(rule.service)}" is not a service name`);
  const where = `route rule for ${rule.service}`;
  if (rule.weights !== undefined) {
    const entries = typeof rule.weights === "object" && rule.weights !== null ? Object.entries(rule.weights) : [];
    if (entries.length === 0) throw new TypeError(`${where}: weights must name at least one version range`);
    for (const [range, weight] of entries) {
      if (!isVersionRange(range)) throw new TypeError(`${where}: "${range}" is not a version range`);
      if (!Number.isInteger(weight) || weight < 0) throw new TypeError(`${where}: the weight of ${range} must be a whole number ≥ 0, got ${String(weight)}`);
    }
    if (entries.every(([, weight]) => weight === 0)) throw new TypeError(`${where}: at least one weight must be above 0`);
  }
  if (rule.clusters !== undefined && (!Array.isArray(rule.clusters) || rule.clusters.length === 0 || !rule.clusters.every((c) => typeof c === "string" && CLUSTER_NAME.test(c)))) {
    throw new TypeError(`${where}: clusters must be cluster names, in the order to prefer them`);
  }
  if (rule.pin !== undefined && (typeof rule.pin !== "string" || !CLUSTER_NAME.test(rule.pin))) throw new TypeError(`${where}: pin must be a cluster name, got ${String(rule.pin)}`);
}
