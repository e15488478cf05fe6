/**
 * The edge: the door through which browsers and HTTP clients reach the
 * cluster. An Amoeba node (it finds services by look-up or by hand) plus a
 * `node:http` server: REST-like `POST /rpc/<service>/<method>`, JSON-RPC 2.0
 * over HTTP and WebSocket, server streams as Server-Sent Events, a catalog,
 * an OpenAPI document and a health check; only methods marked public.
 */
import { once, setMaxListeners } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import type { Logger } from "../logger.ts";
import { startNode, type Node } from "../node.ts";
import type { Peer } from "../peer.ts";
import type { Meta } from "../rpc/call-options.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import { isRpcError } from "../rpc/rpc-error.ts";
import { isJsonContentType, parseJson, readBody, toJsonText } from "./body.ts";
import { EdgeCatalog, type EdgeMethod } from "./catalog.ts";
import { Cors, webSocketOriginAllowed } from "./cors.ts";
import { EdgeFailure, failureOf, JSONRPC } from "./errors.ts";
import { dispatchJsonRpc, errorResponse, failureResponse, jsonRpcCost, type CallSlot, type JsonRpcId, type RpcChannel } from "./jsonrpc.ts";
import { openApiDocument } from "./openapi.ts";
import { CALLER_META, checkMs, resolveEdgeLimits, type Authenticate, type EdgeLimits, type EdgeOptions } from "./options.ts";
import { RateLimiter } from "./rate-limit.ts";

/** A refresh on an unknown name happens at most this often (ms): a flood of made-up names costs little. */
const MISS_REFRESH_MS = 500;
/** `/services` and `/openapi.json` relearn the catalog first when it is older than this (ms). */
const CATALOG_MAX_AGE_MS = 1_000;
/** Bytes buffered for a WebSocket before stream items wait for the client to read. */
const WS_HIGH_WATER = 1024 * 1024;
const TRACE_HEADERS = ["traceparent", "tracestate"] as const;
const MAX_TRACE_HEADER = 512;

/** What a request was admitted with: the metadata of its calls and whom it counts against. */
interface Admitted {
  meta: Meta | undefined;
  client: string;
}

/** A running edge. */
export class Edge {
  /** The node the edge calls through. */
  readonly node: Node;
  readonly #ownsNode: boolean;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #catalog: EdgeCatalog;
  readonly #peers: Peer[] = [];
  readonly #limits: EdgeLimits;
  readonly #authenticate: Authenticate | undefined;
  readonly #limiter: RateLimiter | undefined;
  readonly #cors: Cors | undefined;
  readonly #trustProxy: boolean;
  readonly #defaultTimeout: number;
  readonly #maxTimeout: number;
  readonly #drainTimeout: number;
  readonly #expose: boolean;
  /** Whether `GET /metrics` is served. */
  readonly #metrics: boolean;
  readonly #openapiInfo: { title?: string; version?: string };
  readonly #logger: Logger;
  readonly #jsonRpcHost;
  #openapi: { generation: number; text: string } | null = null;
  #refreshTimer: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #stopMembership: (() => void) | null = null;
  #draining = false;
  #closed: Promise<void> | null = null;
  #port = 0;
  #host: string;

  /** Use {@link startEdge}. */
  constructor(node: Node, ownsNode: boolean, options: EdgeOptions) {
    this.#metrics = options.metrics === true;
    if (this.#metrics && !node.metrics) throw new TypeError("edge metrics: true needs a node started with metrics: true");
    this.node = node;
    this.#ownsNode = ownsNode;
    this.#limits = resolveEdgeLimits(options.limits);
    this.#authenticate = options.authenticate;
    this.#limiter = options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? { perSecond: 100, burst: 200 });
    this.#cors = options.cors ? new Cors(options.cors) : undefined;
    this.#trustProxy = options.trustProxy ?? false;
    this.#defaultTimeout = checkMs(options.defaultTimeout, "defaultTimeout", 30_000);
    this.#maxTimeout = checkMs(options.maxTimeout, "maxTimeout", 300_000);
    this.#drainTimeout = checkMs(options.drainTimeout, "drainTimeout", 10_000);
    this.#expose = options.exposeErrors ?? false;
    this.#openapiInfo = options.openapi ?? {};
    this.#logger = node.logger;
    this.#host = options.host ?? "127.0.0.1";
    this.#catalog = new EdgeCatalog(node, () => this.#peers, (error, what) => this.#logger.debug({ err: error }, `edge: ${what} failed`));
    this.#jsonRpcHost = {
      find: (service: string, method: string) => this.#catalog.find(service, method, MISS_REFRESH_MS),
      expose: this.#expose,
    };
    const limits = this.#limits;
    this.#server = createServer(
      {
        maxHeaderSize: limits.maxHeaderSize,
        headersTimeout: limits.headersTimeout,
        requestTimeout: limits.requestTimeout,
        keepAliveTimeout: limits.keepAliveTimeout,
        // Node checks both timeouts on this interval (30 s by default): it
        // must be short for the timeouts to mean anything.
        connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(Math.min(limits.headersTimeout, limits.requestTimeout) / 4))),
      },
      (request, response) => this.#onRequest(request, response),
    );
    this.#server.maxConnections = limits.maxConnections;
    this.#server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(request, socket, head));
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxWebSocketMessage, perMessageDeflate: false, clientTracking: true });
  }

  /** The port the edge listens on. */
  get port(): number {
    return this.#port;
  }

  /** `http://host:port`, for clients on this machine. */
  get url(): string {
    const host = this.#host === "0.0.0.0" || this.#host === "::" ? "127.0.0.1" : this.#host;
    return `http://${host.includes(":") ? `[${host}]` : host}:${this.#port}`;
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
    this.#heartbeat = setInterval(() => this.#pingSockets(), this.#limits.heartbeatInterval);
    this.#heartbeat.unref();
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

  // --- HTTP ----------------------------------------------------------------

  #onRequest(request: IncomingMessage, response: ServerResponse): void {
    if (this.#draining) response.setHeader("connection", "close");
    const url = request.url ?? "/";
    const query = url.indexOf("?");
    const path = query < 0 ? url : url.slice(0, query);
    if (this.#cors && request.headers.origin !== undefined) {
      if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
        this.#cors.preflight(request, response);
        return;
      }
      this.#cors.apply(request, response);
    }
    let work: Promise<void> | void;
    if (path.startsWith("/rpc/")) work = this.#rpcRoute(request, response, path, query < 0 ? "" : url.slice(query + 1));
    else if (path === "/jsonrpc") work = this.#jsonRpcRoute(request, response);
    else if (path === "/services") work = this.#getOnly(request, response, () => this.#servicesRoute(request, response));
    else if (path === "/openapi.json") work = this.#getOnly(request, response, () => this.#openApiRoute(request, response));
    else if (path === "/healthz") work = this.#getOnly(request, response, () => this.#healthRoute(response));
    else if (path === "/metrics" && this.#metrics) work = this.#getOnly(request, response, () => this.#metricsRoute(response));
    else work = this.#fail(response, new EdgeFailure(404, "NOT_FOUND", `no route ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`));
    if (work) work.catch((error: unknown) => this.#failUnexpected(response, error));
  }

  async #rpcRoute(request: IncomingMessage, response: ServerResponse, path: string, query: string): Promise<void> {
    const slash = path.indexOf("/", 5);
    if (slash < 0 || slash === 5 || slash === path.length - 1 || path.indexOf("/", slash + 1) >= 0) {
      return this.#fail(response, new EdgeFailure(404, "NOT_FOUND", "a call's route is /rpc/<service>/<method>"));
    }
    const verb = request.method;
    if (verb !== "POST" && verb !== "GET") return this.#fail(response, methodNotAllowed("POST, GET"));
    const early = this.#checkDeclaredSize(request);
    if (early) return this.#fail(response, early);
    const admission = this.#admit(request, 1, null);
    // Without an auth hook admission is synchronous: no await on the hot path.
    const admitted = admission instanceof Promise ? await admission : admission;
    if (admitted instanceof EdgeFailure) return this.#fail(response, admitted);
    let timeout = this.#timeoutOf(request);
    if (timeout instanceof EdgeFailure) return this.#fail(response, timeout);
    const service = path.slice(5, slash);
    const name = path.slice(slash + 1);
    const method = this.#catalog.method(service, name) ?? (await this.#catalog.find(service, name, MISS_REFRESH_MS));
    // Not public and not there answer alike: the edge does not tell what exists inside.
    if (method === undefined) return this.#fail(response, new EdgeFailure(404, "NOT_FOUND", `no public method ${service}.${name}`));
    const streamsOut = method.kind === "server-stream" || method.kind === "bidi-stream";
    if (verb === "GET" && !streamsOut) return this.#fail(response, methodNotAllowed("POST"));

    let input: unknown;
    if (verb === "GET") {
      // EventSource can set no header: the input and the deadline come in the query.
      const params = new URLSearchParams(query);
      const text = params.get("input");
      input = text === null || text === "" ? {} : parseJson(text, this.#limits.maxJsonDepth);
      const ms = params.get("timeout");
      if (ms !== null) {
        if (!/^\d{1,10}$/.test(ms) || Number(ms) < 1) return this.#fail(response, new EdgeFailure(400, "INVALID_ARGUMENT", "?timeout= takes a whole number of milliseconds ≥ 1"));
        timeout = Math.min(Number(ms), this.#maxTimeout);
      }
    } else {
      input = await this.#readJson(request);
    }
    if ((method.kind === "client-stream" || method.kind === "bidi-stream") && !Array.isArray(input)) {
      return this.#fail(response, new EdgeFailure(400, "INVALID_ARGUMENT", `${service}.${name} takes a stream: send its items as a JSON array`));
    }

    // The client went away before the answer: the call is cancelled, so the
    // handler's ctx.signal fires and the instance stops working for no one.
    const signal = connectionSignal(request.socket);
    const options = { timeout, signal, meta: admitted.meta };
    if (streamsOut) return this.#streamEvents(response, method.call(input, options) as CallStream<unknown>, signal);
    let result: unknown;
    try {
      result = await (method.call(input, options) as Promise<unknown>);
    } catch (error) {
      return this.#fail(response, failureOf(error, this.#expose), method);
    }
    sendJson(response, 200, toJsonText(result));
  }

  /**
   * A server stream as Server-Sent Events: `data:` per item, then `event:
   * end` or `event: error`. The status line waits for the first item (or a
   * heartbeat's worth of time): a stream that fails at once — a schema
   * failure, an unknown instance — gets a plain JSON error with its HTTP status.
   */
  async #streamEvents(response: ServerResponse, items: CallStream<unknown>, signal: AbortSignal): Promise<void> {
    const open = (): void => {
      if (response.headersSent) return;
      response.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        // Proxies that buffer (nginx) would hold the events back.
        "x-accel-buffering": "no",
      });
    };
    let idle = false;
    const heartbeat = setInterval(() => {
      if (idle) {
        open();
        response.write(": ping\n\n");
      }
      idle = true;
    }, this.#limits.heartbeatInterval);
    let count = 0;
    try {
      for await (const item of items) {
        count++;
        idle = false;
        open();
        if (!response.write(`data: ${toJsonText(item)}\n\n`)) await drainOrClose(response);
        if (signal.aborted) return;
      }
      open();
      response.end(`event: end\ndata: ${JSON.stringify({ items: count })}\n\n`);
    } catch (error) {
      if (signal.aborted || response.destroyed) return;
      const failure = failureOf(error, this.#expose);
      if (!response.headersSent) return this.#fail(response, failure);
      response.end(`event: error\ndata: ${JSON.stringify(failure.toJSON().error)}\n\n`);
    } finally {
      clearInterval(heartbeat);
      if (!response.writableEnded) response.end();
    }
  }

  async #jsonRpcRoute(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== "POST") {
      if (request.method === "GET") return this.#failJsonRpc(response, new EdgeFailure(426, "INVALID_ARGUMENT", "JSON-RPC at /jsonrpc: POST a request, or open a WebSocket", { headers: { upgrade: "websocket" } }));
      return this.#failJsonRpc(response, methodNotAllowed("POST"));
    }
    const early = this.#checkDeclaredSize(request);
    if (early) return this.#failJsonRpc(response, early);
    const admitted = await this.#admit(request, 0, null);
    if (admitted instanceof EdgeFailure) return this.#failJsonRpc(response, admitted);
    const timeout = this.#timeoutOf(request);
    if (timeout instanceof EdgeFailure) return this.#failJsonRpc(response, timeout);
    let message: unknown;
    try {
      message = await this.#readJson(request);
    } catch (error) {
      const failure = failureOf(error, this.#expose);
      // A body that is not JSON is a JSON-RPC parse error, answered as one.
      if (failure.jsonRpcCode === JSONRPC.PARSE_ERROR) return sendJson(response, 200, JSON.stringify(errorResponse(null, JSONRPC.PARSE_ERROR, `Parse error: ${failure.message}`)));
      return this.#failJsonRpc(response, failure);
    }
    const limited = this.#rateLimit(admitted.client, jsonRpcCost(message));
    if (limited) return this.#failJsonRpc(response, limited);
    const slot: CallSlot = { signal: connectionSignal(request.socket), close() {} };
    const channel: RpcChannel = { meta: admitted.meta, timeout, open: () => slot };
    const answer = await dispatchJsonRpc(message, channel, this.#jsonRpcHost, this.#limits.maxBatch);
    if (answer === undefined) {
      response.writeHead(204).end();
      return;
    }
    sendJson(response, 200, toJsonText(answer));
  }

  async #servicesRoute(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const admitted = await this.#admit(request, 1, null);
    if (admitted instanceof EdgeFailure) return this.#fail(response, admitted);
    if (this.#catalog.age > CATALOG_MAX_AGE_MS) await this.#catalog.refresh();
    const services = [...this.#catalog.services.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((service) => ({
        name: service.name,
        version: service.version,
        methods: [...service.methods.values()].map((m) => ({
          name: m.name,
          kind: m.kind,
          idempotent: m.idempotent,
          ...(m.description === undefined ? {} : { description: m.description }),
          path: `/rpc/${m.service}/${m.name}`,
          jsonrpc: `${m.service}.${m.name}`,
          input: m.input,
          output: m.output,
        })),
      }));
    sendJson(response, 200, JSON.stringify({ services }));
  }

  async #openApiRoute(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const admitted = await this.#admit(request, 1, null);
    if (admitted instanceof EdgeFailure) return this.#fail(response, admitted);
    if (this.#catalog.age > CATALOG_MAX_AGE_MS) await this.#catalog.refresh();
    const generation = this.#catalog.generation;
    if (this.#openapi?.generation !== generation) {
      this.#openapi = { generation, text: JSON.stringify(openApiDocument(this.#catalog.services.values(), this.#openapiInfo)) };
    }
    sendJson(response, 200, this.#openapi.text);
  }

  #metricsRoute(response: ServerResponse): void {
    const body = this.node.metricsText() ?? "";
    response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(body) });
    response.end(body);
  }

  #healthRoute(response: ServerResponse): void {
    if (this.#draining) sendJson(response, 503, JSON.stringify({ status: "draining" }));
    else sendJson(response, 200, JSON.stringify({ status: "ok", services: this.#catalog.services.size }));
  }

  #getOnly(request: IncomingMessage, response: ServerResponse, run: () => Promise<void> | void): Promise<void> | void {
    if (request.method !== "GET" && request.method !== "HEAD") return this.#fail(response, methodNotAllowed("GET"));
    return run();
  }

  // --- what every request goes through ------------------------------------

  /** 413 at once when the declared body is too large: the body is then never read. */
  #checkDeclaredSize(request: IncomingMessage): EdgeFailure | undefined {
    const declared = request.headers["content-length"];
    if (declared !== undefined && Number(declared) > this.#limits.maxBodySize) {
      return new EdgeFailure(413, "RESOURCE_EXHAUSTED", `the request body is larger than ${this.#limits.maxBodySize} bytes`, {
        headers: { connection: "close" },
        jsonRpcCode: JSONRPC.INVALID_REQUEST,
      });
    }
    return undefined;
  }

  /** Reads a JSON body: 415 for another content type, 413 when too large, 400 when not JSON or too deep; `{}` when empty. */
  async #readJson(request: IncomingMessage): Promise<unknown> {
    const length = request.headers["content-length"];
    const hasBody = length !== undefined ? length !== "0" : request.headers["transfer-encoding"] !== undefined;
    if (hasBody && !isJsonContentType(request.headers["content-type"])) {
      throw new EdgeFailure(415, "INVALID_ARGUMENT", "the body must be JSON (Content-Type: application/json)", { jsonRpcCode: JSONRPC.INVALID_REQUEST });
    }
    const body = hasBody ? await readBody(request, this.#limits.maxBodySize) : undefined;
    if (body === undefined || body.length === 0) return {};
    return parseJson(body, this.#limits.maxJsonDepth);
  }

  /**
   * Authenticates (when a hook is set) and takes `cost` tokens from the
   * client's bucket (0 to take them later, once the cost is known).
   * Synchronous when there is no hook: the hot path awaits nothing extra.
   */
  #admit(request: IncomingMessage, cost: number, queryToken: string | null): Admitted | EdgeFailure | Promise<Admitted | EdgeFailure> {
    const trace = traceMeta(request);
    if (!this.#authenticate) {
      if (!this.#limiter) return { meta: trace, client: "" };
      const client = `ip:${this.#clientAddress(request)}`;
      return (cost > 0 && this.#rateLimit(client, cost)) || { meta: trace, client };
    }
    return this.#authenticated(request, cost, trace, queryToken);
  }

  async #authenticated(request: IncomingMessage, cost: number, trace: Meta | undefined, queryToken: string | null): Promise<Admitted | EdgeFailure> {
    const token = bearerToken(request.headers.authorization) ?? queryToken;
    let caller;
    try {
      caller = await this.#authenticate!(token, request);
    } catch (error) {
      if (isRpcError(error)) return failureOf(error, this.#expose);
      this.#logger.warn({ err: error }, "edge: the authenticate hook failed");
      return new EdgeFailure(503, "UNAVAILABLE", "authentication is unavailable; try again later");
    }
    const id = typeof caller === "string" ? caller : caller?.id;
    if (typeof id !== "string" || id === "") {
      return new EdgeFailure(401, "UNAUTHENTICATED", token === null ? "authentication required: send Authorization: Bearer <token>" : "the token was not accepted", {
        headers: { "www-authenticate": token === null ? 'Bearer realm="amoeba"' : 'Bearer realm="amoeba", error="invalid_token"' },
      });
    }
    const extra = typeof caller === "object" && caller !== null ? caller.meta : undefined;
    const meta: Meta = { ...trace, ...extra, [CALLER_META]: id };
    const client = `caller:${id}`;
    return (cost > 0 && this.#rateLimit(client, cost)) || { meta, client };
  }

  #rateLimit(client: string, cost: number): EdgeFailure | undefined {
    const wait = this.#limiter?.take(client, cost) ?? 0;
    if (wait === 0) return undefined;
    const seconds = Math.max(1, Math.ceil(wait / 1000));
    return new EdgeFailure(429, "RESOURCE_EXHAUSTED", `too many requests; retry in ${seconds} s`, { headers: { "retry-after": String(seconds) } });
  }

  #clientAddress(request: IncomingMessage): string {
    if (this.#trustProxy) {
      const forwarded = request.headers["x-forwarded-for"];
      const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
      if (first) return first;
    }
    return request.socket.remoteAddress ?? "unknown";
  }

  /** The call's deadline from `X-Timeout` (ms) or `grpc-timeout` (gRPC's form, e.g. `500m`, `2S`), capped at maxTimeout. */
  #timeoutOf(request: IncomingMessage): number | EdgeFailure {
    const plain = request.headers["x-timeout"];
    const grpc = request.headers["grpc-timeout"];
    if (plain === undefined && grpc === undefined) return this.#defaultTimeout;
    let ms: number | undefined;
    if (plain !== undefined) ms = typeof plain === "string" && /^\d{1,10}$/.test(plain) ? Number(plain) : undefined;
    else {
      const match = /^(\d{1,8})([HMSmun])$/.exec(grpc as string);
      if (match) ms = Math.ceil(Number(match[1]) * GRPC_UNITS[match[2]!]!);
    }
    if (ms === undefined || ms < 1) {
      return new EdgeFailure(400, "INVALID_ARGUMENT", plain !== undefined ? "X-Timeout takes a whole number of milliseconds ≥ 1" : "grpc-timeout takes digits and a unit (H, M, S, m, u, n)");
    }
    return Math.min(ms, this.#maxTimeout);
  }

  #fail(response: ServerResponse, failure: EdgeFailure, method?: EdgeMethod): void {
    if (response.headersSent) {
      if (!response.writableEnded) response.end();
      return;
    }
    if (method === undefined && failure.status >= 500) this.#logger.debug({ code: failure.code }, `edge: ${failure.message}`);
    sendJson(response, failure.status, JSON.stringify(failure.toJSON()), failure.headers);
  }

  #failJsonRpc(response: ServerResponse, failure: EdgeFailure): void {
    if (response.headersSent) return;
    sendJson(response, failure.status, JSON.stringify(failureResponse(null, failure)), failure.headers);
  }

  #failUnexpected(response: ServerResponse, error: unknown): void {
    if (!(error instanceof EdgeFailure)) this.#logger.warn({ err: error }, "edge: a request failed unexpectedly");
    this.#fail(response, failureOf(error, this.#expose));
  }

  // --- WebSocket -----------------------------------------------------------

  #onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const url = request.url ?? "/";
    const query = url.indexOf("?");
    const path = query < 0 ? url : url.slice(0, query);
    const refuse = (failure: EdgeFailure): void => writeRawFailure(socket, failure);
    if (path !== "/jsonrpc") return refuse(new EdgeFailure(404, "NOT_FOUND", "WebSocket JSON-RPC is at /jsonrpc"));
    if (this.#draining) return refuse(new EdgeFailure(503, "UNAVAILABLE", "the edge is closing"));
    if (!webSocketOriginAllowed(request, this.#cors)) return refuse(new EdgeFailure(403, "PERMISSION_DENIED", "this origin may not open a WebSocket here"));
    const token = query < 0 ? null : new URLSearchParams(url.slice(query + 1)).get("access_token");
    Promise.resolve(this.#admit(request, 1, token)).then(
      (admitted) => {
        if (admitted instanceof EdgeFailure) return refuse(admitted);
        if (socket.destroyed) return;
        this.#wss.handleUpgrade(request, socket, head, (ws) => this.#onSocket(ws, admitted));
      },
      (error: unknown) => refuse(failureOf(error, this.#expose)),
    );
  }

  #onSocket(ws: WebSocket, admitted: Admitted): void {
    const calls = new Map<JsonRpcId, AbortController>();
    const anonymous = new Set<AbortController>();
    let alive = true;
    (ws as WebSocket & { amoebaAlive?: () => boolean }).amoebaAlive = () => {
      const was = alive;
      alive = false;
      return was;
    };
    ws.on("pong", () => {
      alive = true;
    });
    const send = (message: object): void => {
      if (ws.readyState === WebSocket.OPEN) ws.send(toJsonText(message));
    };
    const channel: RpcChannel = {
      meta: admitted.meta,
      timeout: this.#defaultTimeout,
      open: (id) => {
        if (calls.size + anonymous.size >= this.#limits.maxWebSocketCalls) {
          return new EdgeFailure(429, "RESOURCE_EXHAUSTED", `at most ${this.#limits.maxWebSocketCalls} calls in flight on one WebSocket`);
        }
        if (id !== undefined && calls.has(id)) {
          return new EdgeFailure(400, "INVALID_ARGUMENT", `a call with id ${JSON.stringify(id)} is already in flight on this WebSocket`, { jsonRpcCode: JSONRPC.INVALID_REQUEST });
        }
        const controller = new AbortController();
        if (id === undefined) anonymous.add(controller);
        else calls.set(id, controller);
        return {
          signal: controller.signal,
          close: () => {
            if (id === undefined) anonymous.delete(controller);
            else if (calls.get(id) === controller) calls.delete(id);
          },
        };
      },
      notify: (message) => {
        if (ws.readyState !== WebSocket.OPEN) return undefined;
        const text = toJsonText(message);
        if (ws.bufferedAmount < WS_HIGH_WATER) {
          ws.send(text);
          return undefined;
        }
        // The client reads slower than the stream produces: wait until this
        // much is written, so credit stops flowing back to the instance.
        return new Promise<void>((resolve) => ws.send(text, () => resolve()));
      },
      cancel: (id) => {
        const controller = calls.get(id);
        controller?.abort();
        return controller !== undefined;
      },
    };
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        send(errorResponse(null, JSONRPC.INVALID_REQUEST, "Invalid Request: send JSON-RPC as text messages"));
        return;
      }
      let message: unknown;
      try {
        message = parseJson(rawText(data), this.#limits.maxJsonDepth);
      } catch (error) {
        send(errorResponse(null, JSONRPC.PARSE_ERROR, `Parse error: ${(error as EdgeFailure).message}`));
        return;
      }
      const limited = this.#rateLimit(admitted.client, jsonRpcCost(message));
      if (limited) {
        const id = singleId(message);
        send(failureResponse(id, limited));
        return;
      }
      dispatchJsonRpc(message, channel, this.#jsonRpcHost, this.#limits.maxBatch).then(
        (answer) => {
          if (answer !== undefined) send(answer);
        },
        (error: unknown) => {
          this.#logger.warn({ err: error }, "edge: a WebSocket message failed unexpectedly");
          send(failureResponse(singleId(message), failureOf(error, this.#expose)));
        },
      );
    });
    // ws closes the socket itself on a protocol error or an oversized message (1009).
    ws.on("error", (error) => this.#logger.debug({ err: error }, "edge: WebSocket error"));
    ws.on("close", () => {
      // The client is gone: every call it made is cancelled, so handlers stop.
      for (const controller of calls.values()) controller.abort();
      for (const controller of anonymous) controller.abort();
      calls.clear();
      anonymous.clear();
    });
  }

  #pingSockets(): void {
    for (const ws of this.#wss.clients) {
      const check = (ws as WebSocket & { amoebaAlive?: () => boolean }).amoebaAlive;
      if (check && !check()) ws.terminate();
      else ws.ping();
    }
  }

  // --- closing ---------------------------------------------------------------

  async #drain(): Promise<void> {
    this.#draining = true;
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#stopMembership?.();
    // WebSockets live as long as their clients: they would hold the drain
    // for all of it. They close first (1001, "going away"; their calls are
    // cancelled) and their clients reconnect elsewhere.
    for (const ws of this.#wss.clients) ws.close(1001, "the edge is closing");
    // The server stops accepting; a connection closes once its request in
    // flight is answered (answers carry Connection: close from now on).
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#drainTimeout)))]);
    clearTimeout(timer);
    this.#server.closeAllConnections();
    for (const ws of this.#wss.clients) ws.terminate();
    await closed;
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
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
      ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
      ...(options.clientTls === undefined ? {} : { clientTls: options.clientTls }),
      ...(options.labels === undefined ? {} : { labels: options.labels }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.balance === undefined ? {} : { balance: options.balance }),
      ...(options.metrics ? { metrics: true } : {}),
      ...(options.engine === undefined ? {} : { engine: options.engine }),
    }));
  let edge: Edge | undefined;
  try {
    edge = new Edge(node, owns, options);
    await edge.start(port, options.connect ?? [], refreshInterval);
    return edge;
  } catch (error) {
    if (edge) await edge.close().catch(() => {});
    else if (owns) await node.close({ timeout: 0 });
    throw error;
  }
}

const GRPC_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };

function sendJson(response: ServerResponse, status: number, text: string, headers?: Readonly<Record<string, string>>): void {
  response.writeHead(status, headers ? { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers } : { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

function methodNotAllowed(allow: string): EdgeFailure {
  return new EdgeFailure(405, "UNIMPLEMENTED", `method not allowed here; use ${allow}`, { headers: { allow } });
}

function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match ? match[1]! : null;
}

/** The trace context headers, carried to the handlers as metadata (W3C Trace Context). */
function traceMeta(request: IncomingMessage): Meta | undefined {
  let meta: Meta | undefined;
  for (const name of TRACE_HEADERS) {
    const value = request.headers[name];
    if (typeof value === "string" && value.length <= MAX_TRACE_HEADER) (meta ??= {})[name] = value;
  }
  return meta;
}

const CONNECTION_SIGNAL = Symbol("amoeba.edge.connectionSignal");

/**
 * A signal that aborts when the client's connection closes: what cancels the
 * calls of its requests. One per connection, not per request — making an
 * AbortSignal costs more than the rest of a small call — and without a
 * listener limit, as a JSON-RPC batch adds one per request.
 */
function connectionSignal(socket: Socket): AbortSignal {
  const holder = socket as Socket & { [CONNECTION_SIGNAL]?: AbortController };
  let controller = holder[CONNECTION_SIGNAL];
  if (controller === undefined) {
    const created = new AbortController();
    setMaxListeners(0, created.signal);
    holder[CONNECTION_SIGNAL] = controller = created;
    socket.once("close", () => created.abort(new Error("the client closed the connection")));
  }
  return controller.signal;
}

function drainOrClose(response: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}

/** A refusal written on a socket still in its HTTP upgrade: no response object exists yet. */
function writeRawFailure(socket: Duplex, failure: EdgeFailure): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(failure.toJSON());
  const extra = Object.entries(failure.headers ?? {})
    .filter(([name]) => name !== "connection")
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  socket.end(
    `HTTP/1.1 ${failure.status} ${STATUS_TEXT[failure.status] ?? "Error"}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
  );
}

const STATUS_TEXT: Record<number, string> = { 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests", 503: "Service Unavailable", 500: "Internal Server Error" };

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

/** The id of a single request, for an answer about the whole message; null for a batch or none. */
function singleId(message: unknown): JsonRpcId {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return null;
  const id = (message as { id?: unknown }).id;
  return typeof id === "string" || typeof id === "number" ? id : null;
}
