/** The options of `startEdge`, their defaults, and the checks on them. */
import type { IncomingMessage } from "node:http";
import type { SecureContextOptions } from "node:tls";
import type { Engine } from "../engine.ts";
import type { Node, NodeOptions } from "../node/index.ts";
import type { Meta } from "../rpc/call-options.ts";
import type { CallContext } from "../rpc/context.ts";
import type { CorsOptions } from "./cors.ts";
import type { RateLimitOptions } from "./rate-limit.ts";

/**
 * The label that marks a node as an edge, so that tools (the dashboard) can
 * draw end users in front of it. An edge that starts its own node sets it;
 * give it to a node you pass to `startEdge({ node })` yourself.
 */
export const EDGE_LABEL = "amoeba.edge";

/**
 * The metadata key that carries the authenticated end user to handlers:
 * `ctx.meta["amoeba-caller"]`. Believed only from callers that proved who
 * they are (docs/security.md): a direct caller cannot set it.
 */
export { CALLER_META } from "../rpc/caller-meta.ts";
import { CALLER_META } from "../rpc/caller-meta.ts";

/** The end user a call through the edge came from, as the edge's `authenticate` hook named them; undefined for other calls. */
export function edgeCaller(ctx: Pick<CallContext, "meta">): string | undefined {
  return ctx.meta[CALLER_META];
}

/**
 * Who an authenticated request comes from: an id (a user id, a service
 * account), and metadata to pass to every call it makes (roles, tenant …).
 */
export interface EdgeCaller {
  id: string;
  meta?: Meta;
}

/**
 * Decides who a request comes from. `token` is the bearer token of the
 * `Authorization` header (for a WebSocket, also the `access_token` query
 * parameter, as browsers cannot set headers there), or null when there is
 * none. Return the caller, or null to refuse with 401 UNAUTHENTICATED. To let
 * anonymous requests in, return a caller for a null token. Throwing an
 * RpcError answers with its code (PERMISSION_DENIED → 403); any other throw
 * is a failure of authentication itself: 503 UNAVAILABLE, logged.
 */
export type Authenticate = (token: string | null, request: IncomingMessage) => EdgeCaller | string | null | undefined | Promise<EdgeCaller | string | null | undefined>;

/** Limits on what clients may send and how slowly. */
export interface EdgeLimits {
  /** Bytes of a request body; past it 413. Default 1 MiB. */
  maxBodySize: number;
  /** Bytes of a request's headers; past it 431 (node's `maxHeaderSize`). Default 16 KiB. */
  maxHeaderSize: number;
  /** Nesting of arrays and objects in a JSON body or message; past it 400 / parse error. Default 64. */
  maxJsonDepth: number;
  /** Requests in one JSON-RPC batch. Default 100. */
  maxBatch: number;
  /** Bytes of one WebSocket message; past it the socket is closed with 1009. Default 1 MiB. */
  maxWebSocketMessage: number;
  /** Calls one WebSocket may have in flight; past it RESOURCE_EXHAUSTED. Default 64. */
  maxWebSocketCalls: number;
  /**
   * Items of a client or bidirectional stream over WebSocket the edge takes
   * ahead of the call reading them: the credit it grants (`amoeba.credit`);
   * a client sending more fails its call with RESOURCE_EXHAUSTED. Default 16.
   */
  inputStreamWindow: number;
  /** Connections open at once (HTTP and WebSocket); past it new ones are dropped. Default 10 000. */
  maxConnections: number;
  /** Time to receive a request's headers (slowloris); past it 408 and closed. Default 10 000 ms. */
  headersTimeout: number;
  /** Time to receive a whole request, body included; past it 408 and closed. Default 30 000 ms. */
  requestTimeout: number;
  /** How long an idle keep-alive connection stays open. Default 5 000 ms. */
  keepAliveTimeout: number;
  /** A comment line sent on idle Server-Sent Event streams, and a WebSocket ping (a socket silent for two is closed). Default 15 000 ms. */
  heartbeatInterval: number;
}

/** The defaults of {@link EdgeLimits}. */
export const DEFAULT_EDGE_LIMITS: Readonly<EdgeLimits> = Object.freeze({
  maxBodySize: 1024 * 1024,
  maxHeaderSize: 16 * 1024,
  maxJsonDepth: 64,
  maxBatch: 100,
  maxWebSocketMessage: 1024 * 1024,
  maxWebSocketCalls: 64,
  inputStreamWindow: 16,
  maxConnections: 10_000,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  heartbeatInterval: 15_000,
});

/** The certificate of an edge serving HTTPS (`passphrase` when the key is encrypted, `ca` for intermediates). */
export type EdgeTlsOptions = Pick<SecureContextOptions, "cert" | "key" | "passphrase" | "ca">;

/** Options of `startEdge`. */
export interface EdgeOptions extends Pick<NodeOptions, "name" | "cluster" | "seeds" | "registry" | "clusterKey" | "token" | "lookup" | "clientTls" | "labels" | "logger" | "balance" | "traces"> {
  /**
   * Who may call what through the edge: the policy (as the node's
   * `authorization`) decides each end user's call before it leaves, the
   * caller being `edge:<user>` (`edge:anonymous` without `authenticate`); a
   * call no rule allows answers 403 PERMISSION_DENIED. The edge's own node
   * serves under it too. Without it, a node given in `node` that has an
   * `authorization` of its own decides end users' calls by that. Default: none.
   */
  authorization?: NodeOptions["authorization"];
  /** The TCP port to serve HTTP and WebSocket on; 0 for a free one. Default 8080. */
  port?: number;
  /**
   * Serve HTTPS (and WebSocket over TLS) with this certificate chain and
   * private key, PEM text or bytes: `{ cert: readFileSync("edge.crt"), key: readFileSync("edge.key") }`.
   * Default: plain HTTP, for an edge behind a proxy that ends TLS.
   */
  tls?: EdgeTlsOptions;
  /** The interface to listen on. Default `127.0.0.1`; `0.0.0.0` (or `::`) to face the network. */
  host?: string;
  /**
   * A node to call through. Default: the edge starts its own, which joins the
   * look-up that `cluster`, `seeds` or `registry` name, and closes it on close.
   */
  node?: Node;
  /** Addresses of nodes to connect to by hand (`tcp://…`, `unix://…`), besides what the look-up finds. */
  connect?: string[];
  /** An engine for the edge's own node, e.g. `nats({ servers })` from `amoeba/nats`: it then finds and calls services through NATS. */
  engine?: Engine;
  /**
   * Serve the node's Prometheus metrics at `GET /metrics` (the edge's own node
   * then keeps them; a node given in `node` must have `metrics: true`). They
   * name services and peers: on an edge facing the internet, keep it off or
   * restrict the route upstream. Default false.
   */
  metrics?: boolean;
  /** Who a request comes from; see {@link Authenticate}. Default: no authentication. */
  authenticate?: Authenticate;
  /**
   * Protected mode: with neither `tls` nor `authenticate`, the edge listens
   * only on a loopback `host`. `true` lets it listen for other hosts anyway,
   * logged as a warning: anyone who reaches it may call what it exposes.
   */
  insecure?: boolean;
  /**
   * Calls per client (an authenticated caller's id, else its IP address): a
   * token bucket; past it 429 with Retry-After. `false` turns it off.
   * Default `{ perSecond: 100, burst: 200 }`.
   */
  rateLimit?: RateLimitOptions | false;
  /** Which web pages may call from a browser. Default: none from another origin. */
  cors?: CorsOptions;
  /** Take the client's address from the first X-Forwarded-For entry (behind a proxy you run). Default false. */
  trustProxy?: boolean;
  /** Limits on what clients send and how slowly; see {@link EdgeLimits}. */
  limits?: Partial<EdgeLimits>;
  /** The deadline of a call whose request sets none (X-Timeout, grpc-timeout), in ms. Default 30 000. */
  defaultTimeout?: number;
  /** The longest deadline a request may ask for, in ms. Default 300 000. */
  maxTimeout?: number;
  /** How often to relearn the services the node can reach, in ms. Default 5 000 (and at once on a membership change). */
  refreshInterval?: number;
  /** How long `close()` lets requests in flight finish, in ms. Default 10 000. */
  drainTimeout?: number;
  /** Show end users errors' full messages and details (dev only: they name nodes and addresses). Default false. */
  exposeErrors?: boolean;
  /** The `info` and `servers` of the OpenAPI document (`/openapi.json`). */
  openapi?: { title?: string; version?: string; description?: string; license?: { name: string; url?: string; identifier?: string }; serverUrl?: string };
}

/** Fills in the limits' defaults and checks every number. */
export function resolveEdgeLimits(partial: Partial<EdgeLimits> | undefined): EdgeLimits {
  const limits = { ...DEFAULT_EDGE_LIMITS, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw new TypeError(`edge limits.${key} must be a whole number ≥ 1, got ${String(value)}`);
    }
  }
  if (limits.headersTimeout > limits.requestTimeout) {
    throw new TypeError(`edge limits.headersTimeout (${limits.headersTimeout}) must not exceed limits.requestTimeout (${limits.requestTimeout})`);
  }
  return limits;
}

/** Checks a duration option in ms. */
export function checkMs(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 1) throw new TypeError(`edge option ${name} must be a number of ms ≥ 1, got ${String(value)}`);
  return value;
}
