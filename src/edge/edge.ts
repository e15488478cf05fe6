/**
 * The edge: the door through which browsers and HTTP clients reach the
 * cluster. An Amoeba node (it finds services by look-up or by hand) plus an
 * HTTP (or HTTPS) server: the routes are in http-routes.ts, the WebSocket
 * side in websocket.ts; this file starts, composes and drains them.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import { startNode, type Node } from "../node/index.ts";
import type { Peer } from "../node/peer.ts";
import { nodeInternals } from "../node/node.ts";
import { authorizationStage, checkPolicy } from "../rpc/authorization.ts";
import { formatAddress, guardListen, type ExposureGuard } from "../transport/index.ts";
import { Admission } from "./admission.ts";
import { ClientTally } from "./client-tally.ts";
import { EdgeClientsContract } from "./clients-contract.ts";
import { EdgeCatalog } from "./catalog.ts";
import { fetchThroughNodeHandler, type FetchHandlerOptions } from "./fetch-adapter.ts";
import { Cors } from "./cors.ts";
import { HttpRoutes, MISS_REFRESH_MS } from "./http-routes.ts";
import { checkMs, EDGE_LABEL, resolveEdgeLimits, type EdgeLimits, type EdgeOptions } from "./options.ts";
import { RateLimiter } from "./rate-limit.ts";
import { EdgeWebSockets } from "./websocket.ts";

/** A running edge. */
export class Edge {
  /** The node the edge calls through. */
  readonly node: Node;
  readonly #ownsNode: boolean;
  /** Its own server; undefined when it is mounted in someone else's ({@link createEdge}). */
  readonly #server: Server | undefined;
  readonly #routes: HttpRoutes;
  /** Requests in flight through {@link handle} and {@link fetch}, for the drain of a mounted edge. */
  readonly #inFlight = new Set<ServerResponse>();
  readonly #sockets: EdgeWebSockets;
  readonly #catalog: EdgeCatalog;
  readonly #peers: Peer[] = [];
  readonly #limits: EdgeLimits;
  readonly #drainTimeout: number;
  readonly #tls: boolean;
  #refreshTimer: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #stopMembership: (() => void) | null = null;
  #stopServingClients: (() => void) | null = null;
  #draining = false;
  #closed: Promise<void> | null = null;
  #port = 0;
  readonly #host: string;
  readonly #exposure: ExposureGuard;

  /** Use {@link startEdge} or {@link createEdge}. */
  constructor(node: Node, ownsNode: boolean, options: EdgeOptions, ownServer = true) {
    const metrics = options.metrics === true;
    if (metrics && !node.metrics) throw new TypeError("edge metrics: true needs a node started with metrics: true");
    this.node = node;
    this.#ownsNode = ownsNode;
    const limits = (this.#limits = resolveEdgeLimits(options.limits));
    this.#drainTimeout = checkMs(options.drainTimeout, "drainTimeout", 10_000);
    this.#host = options.host ?? "127.0.0.1";
    this.#exposure = { credentials: options.tls !== undefined || options.authenticate !== undefined, insecure: options.insecure === true, what: "edge", remedy: "tls or authenticate, or set insecure: true" };
    const logger = node.logger;
    const expose = options.exposeErrors ?? false;
    const tally = new ClientTally();
    // Its clients, for the dashboard's end users (an edge sharing a node that has one already leaves it).
    if (!nodeInternals(node).dispatcher.registry.list().some(([name]) => name === EdgeClientsContract.name)) {
      this.#stopServingClients = node.serve(EdgeClientsContract, { clients: () => tally.reading(Date.now()) });
    }
    const admission = new Admission({
      authenticate: options.authenticate,
      limiter: options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? { perSecond: 100, burst: 200 }),
      trustProxy: options.trustProxy ?? false,
      expose,
      logger,
      tally,
      defaultTimeout: checkMs(options.defaultTimeout, "defaultTimeout", 30_000),
      maxTimeout: checkMs(options.maxTimeout, "maxTimeout", 300_000),
    });
    if (options.authorization !== undefined) checkPolicy(options.authorization);
    // End users' calls pass the edge's policy, else the policy of the node it was given.
    const policy = options.authorization ?? nodeInternals(node).dispatcher.authorization;
    const front = policy === undefined ? [] : [authorizationStage(policy)];
    const catalog = (this.#catalog = new EdgeCatalog(node, () => this.#peers, (error, what) => logger.debug({ err: error }, `edge: ${what} failed`), front, tally));
    const jsonRpc = { find: (service: string, method: string) => catalog.find(service, method, MISS_REFRESH_MS), expose };
    const cors = options.cors ? new Cors(options.cors) : undefined;
    const draining = (): boolean => this.#draining;
    const routes = (this.#routes = new HttpRoutes({
      limits,
      admission,
      catalog,
      jsonRpc,
      cors,
      logger,
      metricsText: metrics ? () => node.metricsText() ?? "" : undefined,
      openapiInfo: { ...options.openapi, secured: options.authenticate !== undefined },
      draining,
    }));
    this.#sockets = new EdgeWebSockets({ limits, admission, jsonRpc, logger, cors, draining });
    const serverOptions = {
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      // Node checks both timeouts on this interval (30 s by default): it
      // must be short for the timeouts to mean anything.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(Math.min(limits.headersTimeout, limits.requestTimeout) / 4))),
    };
    this.#tls = options.tls !== undefined;
    this.handle = this.handle.bind(this);
    this.upgrade = this.upgrade.bind(this);
    this.fetch = this.fetch.bind(this);
    if (!ownServer) {
      this.#server = undefined;
      return;
    }
    const handle = routes.handle.bind(routes);
    const tls = options.tls === undefined ? undefined : checkTls(options.tls);
    try {
      this.#server = tls ? createHttpsServer({ ...serverOptions, ...tls }, handle) : createServer(serverOptions, handle);
    } catch (error) {
      throw new TypeError(`edge tls: the certificate or key cannot be used: ${(error as Error)?.message ?? String(error)}`);
    }
    this.#server.maxConnections = limits.maxConnections;
    this.#server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => this.#sockets.upgrade(request, socket, head));
    // A client that fails the TLS handshake (plain HTTP, a bad certificate) is its own problem.
    this.#server.on("tlsClientError", (error: Error) => logger.debug({ err: error }, "edge: TLS handshake failed"));
  }

  /**
   * The edge as a node:http request handler, bound: mount it in a server of
   * your own (`createServer(edge.handle)`), in Express or Connect
   * (`app.use("/amoeba", edge.handle)`: a path that is no route of the edge
   * goes on to `next`), or in Fastify (`reply.hijack(); edge.handle(request.raw, reply.raw)`).
   * Paths are the edge's own (`/rpc/…`, `/openapi.json`, …) after the mount point.
   */
  handle(request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void): void {
    if (this.#server === undefined) {
      this.#inFlight.add(response);
      response.once("close", () => this.#inFlight.delete(response));
    }
    this.#routes.handle(request, response, next);
  }

  /** The edge's WebSocket side (JSON-RPC at `/jsonrpc`), for a server of your own: `server.on("upgrade", edge.upgrade)`. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#sockets.upgrade(request, socket, head);
  }

  /**
   * The edge as a fetch-style handler, bound: `(Request) => Promise<Response>`,
   * for Hono (`app.all("/amoeba/*", (c) => edge.fetch(c.req.raw, { basePath: "/amoeba" }))`),
   * Bun and Deno (`Deno.serve(edge.fetch)`). Streams answer as streamed
   * Responses. WebSockets need {@link upgrade} on a node:http server.
   */
  fetch(request: Request, options?: FetchHandlerOptions): Promise<Response> {
    return fetchThroughNodeHandler((incoming, response) => this.handle(incoming, response), request, options);
  }

  /** The port the edge listens on. */
  get port(): number {
    return this.#port;
  }

  /** `http://host:port` (`https://` with TLS), for clients on this machine. */
  get url(): string {
    const host = this.#host === "0.0.0.0" || this.#host === "::" ? "127.0.0.1" : this.#host;
    return `${this.#tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${this.#port}`;
  }

  /** The public services the edge exposes now, as `GET /services` lists them. */
  get services(): ReadonlyArray<{ name: string; version: string; methods: string[] }> {
    return [...this.#catalog.services.values()].map((s) => ({ name: s.name, version: s.version, methods: [...s.methods.keys()] }));
  }

  /** Relearns the services the node can reach now (also done on a timer and on membership changes). */
  refresh(): Promise<void> {
    return this.#catalog.refresh();
  }

  /** @internal Starts listening and learns the catalog; used by {@link startEdge}. */
  async start(port: number, connect: readonly string[], refreshInterval: number): Promise<void> {
    for (const address of connect) this.#peers.push(await this.node.connect(address));
    await this.#catalog.refresh();
    this.#refreshTimer = setInterval(() => void this.#catalog.refresh(), refreshInterval);
    this.#refreshTimer.unref();
    try {
      let pending: NodeJS.Timeout | null = null;
      this.#stopMembership = this.node.onMembership(() => {
        // Many changes come together (a node joins with its services): one refresh.
        pending ??= setTimeout(() => {
          pending = null;
          void this.#catalog.refresh();
        }, 50);
      });
    } catch {
      // The node joined no look-up: the timer and misses are enough.
    }
    this.#heartbeat = setInterval(() => this.#sockets.heartbeat(), this.#limits.heartbeatInterval);
    this.#heartbeat.unref();
    if (this.#server === undefined) return;
    await guardListen(formatAddress({ scheme: "tcp", host: this.#host, port }), this.#exposure, (line) => this.node.logger.warn({ host: this.#host, port }, line));
    this.#server.listen(port, this.#host);
    await once(this.#server, "listening");
    const address = this.#server.address();
    this.#port = typeof address === "object" && address !== null ? address.port : port;
  }

  /**
   * Stops gracefully: stops accepting, answers /healthz with 503, lets
   * requests and streams in flight finish within `drainTimeout`, then closes
   * every connection (WebSockets with 1001) and the node, if the edge started it.
   */
  close(): Promise<void> {
    this.#closed ??= this.#drain();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#stopMembership?.();
    this.#stopServingClients?.();
    // WebSockets live as long as their clients: they would hold the drain
    // for all of it. They close first (1001, "going away"; their calls are
    // cancelled) and their clients reconnect elsewhere.
    this.#sockets.closeAll();
    if (this.#server === undefined) {
      // Mounted: the server is not ours to close; requests in flight finish within the drain timeout.
      const until = Date.now() + this.#drainTimeout;
      while (this.#inFlight.size > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const response of this.#inFlight) response.destroy();
      await this.#sockets.terminate();
      if (this.#ownsNode) await this.node.close();
      return;
    }
    const server = this.#server;
    // The server stops accepting; a connection closes once its request in
    // flight is answered (answers carry Connection: close from now on).
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#drainTimeout)))]);
    clearTimeout(timer);
    server.closeAllConnections();
    await this.#sockets.terminate();
    await closed;
    if (this.#ownsNode) await this.node.close();
  }
}

/**
 * Starts an edge: an Amoeba node (its own, joining the look-up the options
 * name, or `options.node`) and an HTTP and WebSocket server in front of it.
 *
 * @example
 * const edge = await startEdge({ cluster: "shop", port: 8080, authenticate: async (token) => users.get(token) ?? null });
 * // POST http://127.0.0.1:8080/rpc/calculator/add  {"a":1,"b":2}  →  3
 */
export async function startEdge(options: EdgeOptions = {}): Promise<Edge> {
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`edge port must be 0 to 65535, got ${String(port)}`);
  if (options.tls !== undefined) checkTls(options.tls);
  return openEdge(options, port, true);
}

/**
 * An edge without a server of its own, to mount in yours: its node (its
 * own, or `options.node`) and its routes, answered through
 * {@link Edge.handle} (node:http, Express, Fastify), {@link Edge.fetch}
 * (Hono, Bun, Deno, any Fetch API server) and {@link Edge.upgrade}
 * (WebSockets). `port`, `host` and `tls` are your server's business and are
 * not read. `close()` drains the edge and closes its node, not your server.
 *
 * @example
 * const edge = await createEdge({ cluster: "shop" });
 * const server = createServer(edge.handle).on("upgrade", edge.upgrade).listen(8080);
 */
export async function createEdge(options: EdgeOptions = {}): Promise<Edge> {
  return openEdge(options, 0, false);
}

async function openEdge(options: EdgeOptions, port: number, ownServer: boolean): Promise<Edge> {
  const refreshInterval = checkMs(options.refreshInterval, "refreshInterval", 5_000);
  const owns = options.node === undefined;
  const node =
    options.node ??
    (await startNode({
      name: options.name ?? `edge-${process.pid}`,
      ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
      ...(options.seeds === undefined ? {} : { seeds: options.seeds }),
      ...(options.registry === undefined ? {} : { registry: options.registry }),
      ...(options.clusterKey === undefined ? {} : { clusterKey: options.clusterKey }),
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
      ...(options.clientTls === undefined ? {} : { clientTls: options.clientTls }),
      ...(options.authorization === undefined ? {} : { authorization: options.authorization }),
      labels: { ...options.labels, [EDGE_LABEL]: "http" },
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.balance === undefined ? {} : { balance: options.balance }),
      ...(options.metrics ? { metrics: true } : {}),
      ...(options.traces === undefined ? {} : { traces: options.traces }),
      ...(options.engine === undefined ? {} : { engine: options.engine }),
    }));
  let edge: Edge | undefined;
  try {
    edge = new Edge(node, owns, options, ownServer);
    await edge.start(port, options.connect ?? [], refreshInterval);
    return edge;
  } catch (error) {
    if (edge) await edge.close().catch(() => {});
    else if (owns) await node.close({ timeout: 0 });
    throw error;
  }
}

/** The certificate and key must both be there, as PEM text or bytes. */
function checkTls(tls: NonNullable<EdgeOptions["tls"]>): NonNullable<EdgeOptions["tls"]> {
  const one = (value: unknown): boolean => (typeof value === "string" && value.includes("-----BEGIN")) || Buffer.isBuffer(value);
  const pem = (value: unknown): boolean => one(value) || (Array.isArray(value) && value.length > 0 && value.every(one));
  if (typeof tls !== "object" || tls === null || !pem(tls.cert) || !pem(tls.key)) {
    throw new TypeError("edge tls takes { cert, key }: a PEM certificate (chain) and its private key, as text or a Buffer");
  }
  return tls;
}
