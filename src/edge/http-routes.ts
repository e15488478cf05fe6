/**
 * The edge's HTTP routes: `POST /rpc/<service>/<method>` (JSON, or
 * Server-Sent Events for streams), JSON-RPC at `POST /jsonrpc`, the catalog,
 * OpenAPI, health, metrics and the browser client module.
 */
import { setMaxListeners } from "node:events";
import { validateHeaderName, validateHeaderValue, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "../logger.ts";
import type { Meta } from "../rpc/call-options.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import type { Admission } from "./admission.ts";
import { isJsonContentType, parseJson, readBody, toJsonText } from "./body.ts";
import type { EdgeCatalog } from "./catalog.ts";
import { clientModule } from "./client-module.ts";
import type { Cors } from "./cors.ts";
import { EdgeFailure, failureOf, JSONRPC } from "./errors.ts";
import { dispatchJsonRpc, errorResponse, failureResponse, jsonRpcCost, type CallSlot, type JsonRpcHost, type RpcChannel } from "./jsonrpc.ts";
import { openApiDocument, type OpenApiInfo } from "./openapi.ts";
import { keyedCall } from "./keyed-headers.ts";
import { keepResponseMeta } from "./response-meta.ts";
import type { EdgeLimits } from "./options.ts";
import { streamEvents } from "./sse.ts";

/** A refresh on an unknown name happens at most this often (ms): a flood of made-up names costs little. */
export const MISS_REFRESH_MS = 500;
/** `/services` and `/openapi.json` relearn the catalog first when it is older than this (ms). */
const CATALOG_MAX_AGE_MS = 1_000;
/** Response metadata key `k` goes back as the HTTP header `amoeba-meta-k`: it cannot clobber the edge's own headers. */
export const RESPONSE_META_PREFIX = "amoeba-meta-";

/** What the routes need of the edge. */
export interface HttpHost {
  readonly limits: EdgeLimits;
  readonly admission: Admission;
  readonly catalog: EdgeCatalog;
  readonly jsonRpc: JsonRpcHost;
  readonly cors: Cors | undefined;
  readonly logger: Logger;
  /** The node's Prometheus text, when `/metrics` is served. */
  readonly metricsText: (() => string) | undefined;
  readonly openapiInfo: OpenApiInfo;
  /** Whether the edge is closing. */
  draining(): boolean;
}

/** Routes each HTTP request. */
export class HttpRoutes {
  readonly #host: HttpHost;
  #openapi: { generation: number; text: string } | null = null;

  constructor(host: HttpHost) {
    this.#host = host;
  }

  /** Answers one request; a path that is no route of the edge goes to `next` when given (Express, Connect), else 404. */
  handle(request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void): void {
    const host = this.#host;
    if (host.draining()) response.setHeader("connection", "close");
    const url = request.url ?? "/";
    const query = url.indexOf("?");
    const path = query < 0 ? url : url.slice(0, query);
    if (host.cors && request.headers.origin !== undefined) {
      if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
        host.cors.preflight(request, response);
        return;
      }
      host.cors.apply(request, response);
    }
    let work: Promise<void> | void;
    if (path.startsWith("/rpc/")) work = this.#rpcRoute(request, response, path, query < 0 ? "" : url.slice(query + 1));
    else if (path === "/jsonrpc") work = this.#jsonRpcRoute(request, response);
    else if (path === "/services") work = getOnly(request, response, () => this.#servicesRoute(request, response));
    else if (path === "/openapi.json") work = getOnly(request, response, () => this.#openApiRoute(request, response));
    else if (path === "/healthz") work = getOnly(request, response, () => this.#healthRoute(response));
    else if (path === "/metrics" && host.metricsText) work = getOnly(request, response, () => this.#metricsRoute(response));
    else if (path === "/amoeba-client.js") work = getOnly(request, response, () => this.#clientModuleRoute(request, response));
    else if (next !== undefined) return next();
    else work = fail(response, new EdgeFailure(404, "NOT_FOUND", `no route ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`));
    if (work) work.catch((error: unknown) => this.#failUnexpected(response, error));
  }

  async #rpcRoute(request: IncomingMessage, response: ServerResponse, path: string, query: string): Promise<void> {
    const host = this.#host;
    const slash = path.indexOf("/", 5);
    if (slash < 0 || slash === 5 || slash === path.length - 1 || path.indexOf("/", slash + 1) >= 0) {
      return fail(response, new EdgeFailure(404, "NOT_FOUND", "a call's route is /rpc/<service>/<method>"));
    }
    const verb = request.method;
    if (verb !== "POST" && verb !== "GET") return fail(response, methodNotAllowed("POST, GET"));
    const early = this.#checkDeclaredSize(request);
    if (early) return fail(response, early);
    const admission = host.admission.admit(request, 1, null);
    // Without an auth hook admission is synchronous: no await on the hot path.
    const admitted = admission instanceof Promise ? await admission : admission;
    if (admitted instanceof EdgeFailure) return fail(response, admitted);
    let timeout = host.admission.timeoutOf(request);
    if (timeout instanceof EdgeFailure) return fail(response, timeout);
    const service = path.slice(5, slash);
    const name = path.slice(slash + 1);
    const method = host.catalog.method(service, name) ?? (await host.catalog.find(service, name, MISS_REFRESH_MS));
    // Not public and not there answer alike: the edge does not tell what exists inside.
    if (method === undefined) return fail(response, new EdgeFailure(404, "NOT_FOUND", `no public method ${service}.${name}`));
    const streamsOut = method.kind === "server-stream" || method.kind === "bidi-stream";
    if (verb === "GET" && !streamsOut) return fail(response, methodNotAllowed("POST"));

    let input: unknown;
    if (verb === "GET") {
      // EventSource can set no header: the input and the deadline come in the query.
      const params = new URLSearchParams(query);
      const text = params.get("input");
      input = text === null || text === "" ? {} : parseJson(text, host.limits.maxJsonDepth);
      const ms = params.get("timeout");
      if (ms !== null) {
        if (!/^\d{1,10}$/.test(ms) || Number(ms) < 1) return fail(response, new EdgeFailure(400, "INVALID_ARGUMENT", "?timeout= takes a whole number of milliseconds ≥ 1"));
        timeout = Math.min(Number(ms), host.admission.maxTimeout);
      }
    } else {
      input = await this.#readJson(request);
    }
    if ((method.kind === "client-stream" || method.kind === "bidi-stream") && !Array.isArray(input)) {
      return fail(response, new EdgeFailure(400, "INVALID_ARGUMENT", `${service}.${name} takes a stream: send its items as a JSON array`));
    }

    // The client went away before the answer: the call is cancelled, so the
    // handler's ctx.signal fires and the instance stops working for no one.
    const signal = connectionSignal(request.socket);
    const keyed = keyedCall(request);
    if (keyed instanceof EdgeFailure) return fail(response, keyed);
    const kept = keepResponseMeta();
    const meta = keyed.meta === undefined ? admitted.meta : { ...admitted.meta, ...keyed.meta };
    const options = { timeout, signal, meta, idempotencyKey: keyed.idempotencyKey, onMeta: kept.onMeta };
    if (streamsOut) {
      return streamEvents(response, method.call(input, options) as CallStream<unknown>, signal, {
        heartbeatInterval: host.limits.heartbeatInterval,
        expose: host.jsonRpc.expose,
        responseMeta: () => kept.meta,
        fail: (failure) => fail(response, failure),
      });
    }
    let result: unknown;
    try {
      result = await (method.call(input, options) as Promise<unknown>);
    } catch (error) {
      return fail(response, failureOf(error, host.jsonRpc.expose));
    }
    sendJson(response, 200, toJsonText(result), kept.meta && this.#metaHeaders(response, kept.meta));
  }

  async #jsonRpcRoute(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const host = this.#host;
    if (request.method !== "POST") {
      if (request.method === "GET") return failJsonRpc(response, new EdgeFailure(426, "INVALID_ARGUMENT", "JSON-RPC at /jsonrpc: POST a request, or open a WebSocket", { headers: { upgrade: "websocket" } }));
      return failJsonRpc(response, methodNotAllowed("POST"));
    }
    const early = this.#checkDeclaredSize(request);
    if (early) return failJsonRpc(response, early);
    const admitted = await host.admission.admit(request, 0, null);
    if (admitted instanceof EdgeFailure) return failJsonRpc(response, admitted);
    const timeout = host.admission.timeoutOf(request);
    if (timeout instanceof EdgeFailure) return failJsonRpc(response, timeout);
    let message: unknown;
    try {
      message = await this.#readJson(request);
    } catch (error) {
      const failure = failureOf(error, host.jsonRpc.expose);
      // A body that is not JSON is a JSON-RPC parse error, answered as one.
      if (failure.jsonRpcCode === JSONRPC.PARSE_ERROR) return sendJson(response, 200, JSON.stringify(errorResponse(null, JSONRPC.PARSE_ERROR, `Parse error: ${failure.message}`)));
      return failJsonRpc(response, failure);
    }
    const limited = host.admission.rateLimit(admitted.client, jsonRpcCost(message));
    if (limited) return failJsonRpc(response, limited);
    const slot: CallSlot = { signal: connectionSignal(request.socket), close() {} };
    const channel: RpcChannel = { meta: admitted.meta, timeout, maxTimeout: host.admission.maxTimeout, streams: false, open: () => slot };
    const answer = await dispatchJsonRpc(message, channel, host.jsonRpc, host.limits.maxBatch);
    if (answer === undefined) {
      response.writeHead(204).end();
      return;
    }
    sendJson(response, 200, toJsonText(answer));
  }

  async #servicesRoute(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { admission, catalog } = this.#host;
    const admitted = await admission.admit(request, 1, null);
    if (admitted instanceof EdgeFailure) return fail(response, admitted);
    if (catalog.age > CATALOG_MAX_AGE_MS) await catalog.refresh();
    const services = [...catalog.services.values()]
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
    const { admission, catalog } = this.#host;
    const admitted = await admission.admit(request, 1, null);
    if (admitted instanceof EdgeFailure) return fail(response, admitted);
    if (catalog.age > CATALOG_MAX_AGE_MS) await catalog.refresh();
    const generation = catalog.generation;
    if (this.#openapi?.generation !== generation) {
      this.#openapi = { generation, text: JSON.stringify(openApiDocument(catalog.services.values(), this.#host.openapiInfo)) };
    }
    sendJson(response, 200, this.#openapi.text);
  }

  #metricsRoute(response: ServerResponse): void {
    const body = this.#host.metricsText!();
    response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(body) });
    response.end(body);
  }

  #healthRoute(response: ServerResponse): void {
    if (this.#host.draining()) sendJson(response, 503, JSON.stringify({ status: "draining" }));
    else sendJson(response, 200, JSON.stringify({ status: "ok", services: this.#host.catalog.services.size }));
  }

  /** The browser client, public like `/healthz`: it holds no secret, and a page needs it before it can authenticate. */
  async #clientModuleRoute(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const module = await clientModule();
    const headers = { etag: module.etag, "cache-control": "no-cache" };
    if (request.headers["if-none-match"] === module.etag) {
      response.writeHead(304, headers).end();
      return;
    }
    response.writeHead(200, { ...headers, "content-type": "text/javascript; charset=utf-8", "content-length": Buffer.byteLength(module.text) });
    response.end(request.method === "HEAD" ? undefined : module.text);
  }

  /** 413 at once when the declared body is too large: the body is then never read. */
  #checkDeclaredSize(request: IncomingMessage): EdgeFailure | undefined {
    const declared = request.headers["content-length"];
    const limit = this.#host.limits.maxBodySize;
    if (declared !== undefined && Number(declared) > limit) {
      return new EdgeFailure(413, "RESOURCE_EXHAUSTED", `the request body is larger than ${limit} bytes`, {
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
    const body = hasBody ? await readBody(request, this.#host.limits.maxBodySize) : undefined;
    if (body === undefined || body.length === 0) return {};
    return parseJson(body, this.#host.limits.maxJsonDepth);
  }

  /**
   * Response metadata as `amoeba-meta-<key>` headers. A key or value HTTP
   * cannot carry (a newline, a non-token name) is left out, not sent broken.
   * A page of another origin reads them only when CORS exposes them.
   */
  #metaHeaders(response: ServerResponse, meta: Meta): Record<string, string> | undefined {
    let headers: Record<string, string> | undefined;
    for (const [key, value] of Object.entries(meta)) {
      const name = `${RESPONSE_META_PREFIX}${key.toLowerCase()}`;
      try {
        validateHeaderName(name);
        validateHeaderValue(name, value);
      } catch {
        this.#host.logger.debug({ key }, "edge: response metadata not sendable as an HTTP header");
        continue;
      }
      (headers ??= {})[name] = value;
    }
    // CORS let the page in (it set the exposed headers): it may read these too.
    const exposed = response.getHeader("access-control-expose-headers");
    if (headers && typeof exposed === "string") headers["access-control-expose-headers"] = [exposed, ...Object.keys(headers)].join(", ");
    return headers;
  }

  #failUnexpected(response: ServerResponse, error: unknown): void {
    if (!(error instanceof EdgeFailure)) this.#host.logger.warn({ err: error }, "edge: a request failed unexpectedly");
    fail(response, failureOf(error, this.#host.jsonRpc.expose));
  }
}

function getOnly(request: IncomingMessage, response: ServerResponse, run: () => Promise<void> | void): Promise<void> | void {
  if (request.method !== "GET" && request.method !== "HEAD") return fail(response, methodNotAllowed("GET"));
  return run();
}

function fail(response: ServerResponse, failure: EdgeFailure): void {
  if (response.headersSent) {
    if (!response.writableEnded) response.end();
    return;
  }
  sendJson(response, failure.status, JSON.stringify(failure.toJSON()), failure.headers);
}

function failJsonRpc(response: ServerResponse, failure: EdgeFailure): void {
  if (response.headersSent) return;
  sendJson(response, failure.status, JSON.stringify(failureResponse(null, failure)), failure.headers);
}

function sendJson(response: ServerResponse, status: number, text: string, headers?: Readonly<Record<string, string>>): void {
  response.writeHead(status, headers ? { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers } : { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

function methodNotAllowed(allow: string): EdgeFailure {
  return new EdgeFailure(405, "UNIMPLEMENTED", `method not allowed here; use ${allow}`, { headers: { allow } });
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
