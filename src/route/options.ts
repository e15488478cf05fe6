import type { Logger } from "../logger.ts";
import type { MembershipConfig } from "../lookup/membership/config.ts";
import type { TracesOptions } from "../observe/traces-options.ts";
import type { NodeOptions } from "../node/options.ts";
import type { NodeInterceptors } from "../rpc/context.ts";
import type { AuthorizationPolicy } from "../rpc/authorization.ts";
import type { TlsClientOptions, TlsServerOptions } from "../transport/index.ts";
import { isAggregatePattern } from "../route-rules/aggregate.ts";
import type { AggregateSpec } from "./aggregation.ts";
import { DEFAULT_MAX_HOPS } from "./hops.ts";
import { CLUSTER_NAME } from "../route-rules/route-label.ts";
import { parseRouteRules, type RouteRule, type RouteRules } from "../route-rules/rules.ts";

/** How a gateway joins one of its clusters. */
export interface GatewayClusterOptions {
  /** Gossip addresses (`udp://host:port`) of members of that cluster. Default: the local rendezvous (members on this machine). */
  seeds?: string[];
  /** Where its member in that cluster listens for calls. Default: `tcp://127.0.0.1:0`. */
  listen?: string;
  /** Where it gossips in that cluster. Default: `udp://127.0.0.1:0`. */
  gossip?: string;
  /** That cluster's key, when its membership is authenticated. */
  clusterKey?: string;
  /** The bearer token its member there presents when it dials (see the node's `token`). */
  token?: string;
  /** The bearer tokens its member there takes from callers (see the node's `tokens`). */
  tokens?: NodeOptions["tokens"];
  /**
   * TLS for its member's listener in that cluster; with `ca`, callers must
   * present a certificate (mutual TLS). A credential: with it the member may
   * listen for other hosts. See the node's `tls`.
   */
  tls?: TlsServerOptions;
  /** TLS for the connections its member there dials: to the instances it forwards calls to. See the node's `clientTls`. */
  clientTls?: TlsClientOptions;
  /** Who may call its member there, forwarded calls and `amoeba.gateway` included. See the node's `authorization`. */
  authorization?: AuthorizationPolicy;
  /** Listen for other hosts with no credentials (no cluster key, no `tls`): see the node's `insecure`. */
  insecure?: boolean;
  /**
   * Code around the calls its member there serves (calls from that cluster,
   * before they are forwarded) and makes (calls forwarded into that
   * cluster): logging, auditing, policies of your own. See the node's
   * `interceptors` and docs/interceptors.md.
   */
  interceptors?: NodeInterceptors;
}

/** Options of `startGateway`. */
export interface GatewayOptions {
  /** Its name, in each cluster and in errors. Default: `gateway-<pid>`. */
  name?: string;
  /** The clusters it joins, two or more, by name: `{ core: { seeds: [...] }, "region-b": { seeds: [...] } }`. */
  join: Record<string, GatewayClusterOptions>;
  /** What crossing it costs, added to the cost of every route it advertises; callers take the cheapest. Default 1. */
  cost?: number;
  /** How many gateways a call may cross; past it, or back at a gateway it crossed, it fails with FAILED_PRECONDITION. Default 8. */
  maxHops?: number;
  /** Labels of its members, besides `amoeba.gateway`. */
  labels?: Record<string, string>;
  /** How long `close()` lets calls in flight finish, in ms. Default 10 000. */
  drainTimeout?: number;
  /** Where it logs. Default: warnings and errors on stderr. */
  logger?: Logger;
  /**
   * Route rules for the calls it forwards — weights between versions, a
   * failover order of clusters, a pinned cluster — as objects or in their
   * text form (see docs/routing.md). A call's own rules (metadata
   * `amoeba-route`) come first.
   */
  routes?: string | RouteRule[];
  /**
   * Aggregates to advertise instead of one route per service (see
   * docs/routing.md): `"shop.*"` — every service whose name starts with
   * `shop.` — or `"*"`; a cluster it joins, `"region-b"`, for every service
   * served there; `"shop.* in region-b"` for both. Each is one route entry,
   * advertised while a service it covers is reachable, and the gateway
   * forwards the calls of every service under it without a contract.
   */
  aggregate?: ReadonlyArray<string | AggregateSpec>;
  /** Gossip timing in every cluster; default: the LAN profile (see docs/lookup.md). */
  membership?: Partial<MembershipConfig>;
  /**
   * Tracing of each of its members, as `startNode`'s `traces`: spans through
   * OpenTelemetry (on by default when an SDK is registered) and a ring of
   * recent calls, e.g. `{ recent: 500 }`. A forwarded call is then a server
   * entry on the member it reached and a client entry, its child, on the
   * member that sent it on. See docs/observability.md.
   */
  traces?: TracesOptions;
}

/** Gateway options checked, with defaults filled in. */
export interface ResolvedGatewayOptions {
  readonly name: string;
  readonly clusters: readonly string[];
  readonly join: Readonly<Record<string, GatewayClusterOptions>>;
  readonly cost: number;
  readonly maxHops: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly drainTimeout: number | undefined;
  readonly logger: Logger | undefined;
  readonly membership: Partial<MembershipConfig> | undefined;
  readonly rules: RouteRules;
  readonly aggregates: readonly AggregateSpec[];
  readonly traces: TracesOptions | undefined;
}

/** The highest cost a gateway may have: sums of costs stay exact and readable. */
export const MAX_GATEWAY_COST = 1_000;

/** Checks gateway options; every mistake is a TypeError that says what is wrong. */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  if (typeof options !== "object" || options === null) throw new TypeError("startGateway needs options: { join: { <cluster>: { seeds } , … } }");
  const join = options.join;
  if (typeof join !== "object" || join === null || Array.isArray(join)) throw new TypeError("gateway join must be an object of clusters: { core: { seeds: [...] }, … }");
  const clusters = Object.keys(join);
  if (clusters.length < 2) throw new TypeError(`a gateway joins two clusters or more; join names ${clusters.length === 0 ? "none" : `only ${clusters[0]}`}`);
  for (const cluster of clusters) {
    if (!CLUSTER_NAME.test(cluster)) throw new TypeError(`gateway join: "${cluster}" is not a cluster name (letters, digits, '_', '-', '.'; a letter or digit first; at most 128)`);
    const each = join[cluster];
    if (typeof each !== "object" || each === null) throw new TypeError(`gateway join.${cluster} must be an object such as { seeds: ["udp://host:port"] }`);
    if (each.seeds !== undefined && (!Array.isArray(each.seeds) || !each.seeds.every((seed) => typeof seed === "string" && seed.startsWith("udp://")))) {
      throw new TypeError(`gateway join.${cluster}.seeds must be gossip addresses such as udp://127.0.0.1:7946`);
    }
  }
  const name = options.name ?? `gateway-${process.pid}`;
  if (typeof name !== "string" || name === "" || name.includes(",")) throw new TypeError(`gateway name must be a non-empty string without commas, got ${JSON.stringify(name)}`);
  const cost = options.cost ?? 1;
  if (!Number.isInteger(cost) || cost < 0 || cost > MAX_GATEWAY_COST) throw new TypeError(`gateway cost must be a whole number from 0 to ${MAX_GATEWAY_COST}, got ${String(cost)}`);
  const maxHops = options.maxHops ?? DEFAULT_MAX_HOPS;
  if (!Number.isInteger(maxHops) || maxHops < 1 || maxHops > 64) throw new TypeError(`gateway maxHops must be a whole number from 1 to 64, got ${String(maxHops)}`);
  const aggregate = options.aggregate ?? [];
  if (!Array.isArray(aggregate)) throw new TypeError('gateway aggregate must be a list such as ["shop.*", "region-b"]');
  const aggregates = aggregate.map((each) => parseAggregate(each, clusters));
  return { name, clusters, join, cost, maxHops, labels: { ...options.labels }, drainTimeout: options.drainTimeout, logger: options.logger, membership: options.membership, rules: parseRouteRules(options.routes ?? []), aggregates, traces: options.traces };
}

/**
 * One aggregate, checked: `shop.*` or `*`; a cluster the gateway joins
 * (`region-b`: every service served there); `shop.* in region-b`; or the
 * same as `{ services, cluster }`. A TypeError says what is wrong.
 */
export function parseAggregate(value: string | AggregateSpec, clusters: readonly string[]): AggregateSpec {
  let spec: AggregateSpec;
  if (typeof value === "string") {
    const words = value.trim().split(/\s+/);
    if (words.length === 3 && words[1] === "in") spec = { services: words[0]!, cluster: words[2]! };
    else if (words.length === 1 && !words[0]!.endsWith("*")) {
      if (!clusters.includes(words[0]!)) {
        throw new TypeError(`aggregate "${value}": neither a pattern such as shop.* nor a cluster this gateway joins (${clusters.join(", ")}); for a cluster further on, write "* in ${words[0]}"`);
      }
      spec = { services: "*", cluster: words[0]! };
    } else if (words.length === 1) spec = { services: words[0]! };
    else throw new TypeError(`aggregate "${value}" is not "<pattern>", "<cluster>" or "<pattern> in <cluster>", e.g. "shop.* in region-b"`);
  } else if (typeof value === "object" && value !== null) spec = value.cluster === undefined ? { services: value.services } : { services: value.services, cluster: value.cluster };
  else throw new TypeError(`an aggregate is a string such as "shop.*" or { services, cluster }, not ${String(value)}`);
  if (typeof spec.services !== "string" || !isAggregatePattern(spec.services)) {
    throw new TypeError(`aggregate pattern ${JSON.stringify(spec.services)} must be "*" or dot-separated words ending in ".*", such as shop.*`);
  }
  if (spec.cluster !== undefined && (typeof spec.cluster !== "string" || !CLUSTER_NAME.test(spec.cluster))) throw new TypeError(`aggregate cluster ${JSON.stringify(spec.cluster)} is not a cluster name`);
  return spec;
}
