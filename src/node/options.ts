/** What a node is started with: the options of `startNode`, `connect` and `serve`. */
import type { OutlierOptions } from "../balance/outlier.ts";
import type { RetryBudgetOptions } from "../balance/retry-budget.ts";
import type { Engine } from "../engine.ts";
import type { Logger } from "../logger.ts";
import type { TracesOptions } from "../observe/traces-options.ts";
import type { LookupSettings } from "../lookup/start-lookup.ts";
import type { AuthorizationPolicy } from "../rpc/authorization.ts";
import type { NodeInterceptors, ServerInterceptor } from "../rpc/context.ts";
import type { Limits } from "../rpc/limits.ts";
import type { TokenEntry, TokenVerifier } from "../rpc/tokens.ts";
import type { RouteRule } from "../route-rules/rules.ts";
import type { TlsClientOptions, TlsServerOptions } from "../transport/index.ts";

/** Options of `startNode`. */
export interface NodeOptions {
  /** A readable name, shown in errors and tools. Default: `<host>-<pid>`. */
  name?: string;
  /** The cluster this node belongs to. Default: `"default"`. */
  cluster?: string;
  /** Labels such as `{ zone: "a" }`. `host` is added when absent. */
  labels?: Record<string, string>;
  /** Addresses to listen on: `tcp://127.0.0.1:7400`, `unix:///tmp/x.sock`, `inproc://name`. */
  listen?: string | string[];
  /** TLS for the TCP listeners; with `ca`, clients must present a certificate (mutual TLS). */
  tls?: TlsServerOptions;
  /**
   * TLS for the TCP connections this node dials by itself: to instances found by
   * look-up and to a registry server (the CA to trust; a certificate of ours for
   * mutual TLS). `connect()` uses its own `tls` option when it gives one.
   */
  clientTls?: TlsClientOptions;
  /**
   * Protected mode: with no credentials (`tls`, `clusterKey`) a node listens
   * only on loopback and Unix sockets. `true` lets it listen for other hosts
   * anyway, logged as a warning: anyone who reaches the port may call it.
   */
  insecure?: boolean;
  /** Limits on what peers may send; see {@link Limits}. */
  limits?: Partial<Limits>;
  /** Dev mode: error stacks travel to callers. Never in production. */
  dev?: boolean;
  /** Validate inputs against the contract (default true) and outputs (default: only in dev mode). */
  validate?: { input?: boolean; output?: boolean };
  /** Deadline of calls that set none, in ms. Default 30 000; `Infinity` for none. */
  defaultTimeout?: number;
  /** How long `close()` lets calls in flight finish, in ms. Default 10 000. */
  drainTimeout?: number;
  /**
   * How many calls this node runs at once: every connection and in-process
   * caller together, a stream for its whole life. A call past it is refused
   * at once with RESOURCE_EXHAUSTED, unprocessed (safe to retry on another
   * instance), and never reaches a handler. A positive integer; default: no
   * limit (`Infinity`), as the right number depends on what the handlers do.
   * Per contract: `serve(contract, handlers, { concurrency })`.
   */
  concurrency?: number;
  /** Where Amoeba logs. Default: warnings and errors on stderr. */
  logger?: Logger;
  /**
   * Join a look-up service so that `client()` finds instances by name. On by
   * default when `cluster`, `seeds` or `registry` is given: gossip with the
   * local rendezvous (nodes of the same cluster on this machine find each
   * other), or seeds, or a registry server. `false` turns it off.
   */
  lookup?: boolean | Omit<LookupSettings, "cluster">;
  /** Gossip addresses (`udp://host:port`) of nodes already in the cluster. */
  seeds?: string[];
  /** Registry servers' addresses, for client-server look-up: one, several separated by commas, or a list (docs/lookup.md). */
  registry?: string | readonly string[];
  /**
   * The cluster key: it seals membership messages, and every connection to
   * or from this node must prove it at the handshake (an HMAC over fresh
   * nonces; the key never travels), or is refused UNAUTHENTICATED. A caller
   * that proved it is the principal `cluster` (`ctx.caller.provedClusterKey`).
   * It authenticates, it does not encrypt: use `tls` too where others can
   * read the network.
   */
  clusterKey?: string;
  /**
   * A bearer token this node presents at the handshake of every connection
   * it dials (to other nodes and its registry): its credential where the
   * other node takes tokens (`tokens`), which then knows it as
   * `token:<name>`. Sent only over TLS or to this machine; a dial that would
   * send it unencrypted to another host fails UNAUTHENTICATED. 16 to 4,096
   * characters; `newToken()` makes one.
   */
  token?: string;
  /**
   * The bearer tokens this node takes from the nodes that dial it, and whose
   * they are: a table of `{ name, sha256 }` entries (`hashToken(token)`; or
   * `{ name, token }`), or a function naming a token's owner (undefined for
   * a token it does not take). A caller with an unknown token is refused
   * UNAUTHENTICATED at the handshake; a known one is `ctx.caller.token` and
   * the principal `token:<name>`. A token that came unencrypted from another
   * host is refused.
   */
  tokens?: TokenVerifier | readonly TokenEntry[];
  /**
   * Node-wide balancing settings: outlier ejection and the retry budget, which
   * each service's balancer applies on its own. Strategies are set per client.
   */
  balance?: { outliers?: Partial<OutlierOptions>; retryBudget?: Partial<RetryBudgetOptions> };
  /**
   * Keep Prometheus metrics: calls served and made (by code, with latency
   * histograms per service.method and per peer), calls in flight and shed,
   * retries, ejections, membership, bytes. Read them with `node.metricsText()`
   * (`amoeba serve --metrics-port` serves them). Off by default.
   */
  metrics?: boolean;
  /**
   * Tracing: spans through OpenTelemetry (on by default when an SDK is
   * registered) and a ring of recent calls, e.g. `{ recent: 500 }`, that
   * `node.recentCalls()` and the built-in `amoeba.traces` service read.
   * See docs/observability.md.
   */
  traces?: TracesOptions;
  /**
   * An engine to ride on, e.g. `nats({ servers: ["nats://127.0.0.1:4222"] })`
   * from `amoeba/nats`: the node then listens on the engine's address too,
   * dials its addresses, and joins look-up through it (unless `lookup: false`).
   */
  engine?: Engine;
  /**
   * Route rules for this node's calls: weights between versions (a canary),
   * a failover order of clusters, a service pinned to a cluster — as objects
   * or in their text form (see docs/routing.md). A call's own rules, in its
   * metadata `amoeba-route`, come first.
   */
  routes?: string | RouteRule[];
  /**
   * Code around every call this node makes (`client`) and serves (`server`),
   * outermost first: authentication, authorization, logging, auditing,
   * caching, policies of your own. See docs/interceptors.md for the order.
   */
  interceptors?: NodeInterceptors;
  /**
   * Who may call what on this node, deny by default once set: rules of
   * principals (`cert:<CN>`, `san:…`, `cluster`, `token:<name>`, `edge:<user>`, `self`, `node:<name>`)
   * and `service.method` patterns, Amoeba's own services included. A caller
   * with no verified identity is refused UNAUTHENTICATED, even for methods
   * that do not exist. See docs/security.md.
   */
  authorization?: AuthorizationPolicy;
}



/** Options of dialing another node. */
export interface ConnectOptions {
  /** TLS towards that node (its CA; a certificate of ours for mutual TLS). */
  tls?: TlsClientOptions;
  /** Give up connecting after this many ms. Default 10 000. */
  connectTimeout?: number;
}

/** Options of `node.serve()`. */
export interface ServeOptions {
  /**
   * How many calls of this contract the node runs at once, a stream for its
   * whole life; past it, RESOURCE_EXHAUSTED, unprocessed. A positive integer;
   * default: no limit of its own (the node's `concurrency` still applies).
   */
  concurrency?: number;
  /** Server interceptors of this contract's calls, inside the node's own (see docs/interceptors.md). */
  interceptors?: readonly ServerInterceptor[];
}

/** The look-up settings `startNode` options ask for, or null for none. */
export function lookupSettings(options: NodeOptions): Omit<LookupSettings, "cluster"> | null {
  if (options.lookup === false) return null;
  const explicit = typeof options.lookup === "object" ? options.lookup : {};
  const wanted =
    options.lookup !== undefined || options.cluster !== undefined || options.seeds !== undefined || options.registry !== undefined || options.engine !== undefined;
  if (!wanted) return null;
  return {
    ...explicit,
    ...(options.seeds === undefined ? {} : { seeds: options.seeds }),
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    ...(options.clusterKey === undefined ? {} : { clusterKey: options.clusterKey }),
  };
}

/** The node's cluster key: `clusterKey`, or the one its look-up settings give. */
export function clusterKeyOf(options: NodeOptions): string | undefined {
  return options.clusterKey ?? (typeof options.lookup === "object" ? options.lookup.clusterKey : undefined);
}
