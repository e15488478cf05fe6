/**
 * The dashboard's HTTP server (`node:http`): the page and its script and
 * style, the latest snapshot as JSON, a Server-Sent-Events feed of snapshots,
 * and the call form's endpoint.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Node } from "../node/index.ts";
import { isJsonContentType, parseJson, readBody, toJsonText } from "../edge/body.ts";
import { EdgeFailure, failureOf } from "../edge/errors.ts";
import { callFromForm } from "./call.ts";
import { ClusterReader } from "./cluster-reader.ts";
import { Collector } from "./collector.ts";
import { PAGE_HTML } from "./page/html.ts";
import { PAGE_SCRIPT } from "./page/script.ts";
import { PAGE_STYLE } from "./page/style.ts";
import type { DashboardSnapshot } from "./snapshot.ts";

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /**
   * The nodes to watch the clusters through, one per cluster: each shows the
   * cluster it is a member of. `{ node, edge: true }` draws that node as the
   * cluster's edge, with end users' clients in front of it; `{ node, hidden: true }`
   * leaves it out of the picture, for a node started only to watch.
   */
  nodes: ReadonlyArray<Node | { node: Node; edge?: boolean; hidden?: boolean }>;
  /** The HTTP port; 0 for a free one. Default 8090. */
  port?: number;
  /** The interface to listen on. Default 127.0.0.1: the page can call any method, so keep it off the network. */
  host?: string;
  /** How often the page is updated (ms). Default 1000. */
  interval?: number;
  /** The largest body `POST /api/call` takes (bytes). Default 65536. */
  maxBody?: number;
}

/** Where the dashboard listens when no port is given. */
export const DEFAULT_DASHBOARD_PORT = 8090;
const MAX_JSON_DEPTH = 64;
/** Pages open at once; past this, `GET /api/events` answers 503. */
const MAX_FEEDS = 64;

const ASSETS: Readonly<Record<string, { type: string; body: string }>> = {
  "/": { type: "text/html; charset=utf-8", body: PAGE_HTML },
  "/dashboard.js": { type: "text/javascript; charset=utf-8", body: PAGE_SCRIPT },
  "/dashboard.css": { type: "text/css; charset=utf-8", body: PAGE_STYLE },
};

/** A running dashboard. */
export class Dashboard {
  readonly #server: Server;
  readonly #collector: Collector;
  readonly #maxBody: number;
  readonly #host: string;
  readonly #feeds = new Set<ServerResponse>();
  #port = 0;
  #closed: Promise<void> | null = null;

  /** Use {@link startDashboard}. */
  constructor(collector: Collector, host: string, maxBody: number) {
    this.#collector = collector;
    this.#host = host;
    this.#maxBody = maxBody;
    this.#server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (request, response) => void this.#onRequest(request, response));
    collector.onSnapshot((snapshot) => this.#broadcast(snapshot));
  }

  /** The port it listens on. */
  get port(): number {
    return this.#port;
  }

  /** `http://host:port/`, for a browser on this machine. */
  get url(): string {
    const host = this.#host === "0.0.0.0" || this.#host === "::" ? "127.0.0.1" : this.#host;
    return `http://${host.includes(":") ? `[${host}]` : host}:${this.#port}/`;
  }

  /** The latest snapshot, as the page gets it. */
  get snapshot(): DashboardSnapshot {
    return this.#collector.snapshot;
  }

  /** @internal Listens; used by {@link startDashboard}. */
  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, this.#host, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    const address = this.#server.address();
    this.#port = typeof address === "object" && address !== null ? address.port : port;
  }

  /** Stops the feed and the server. The watched nodes stay open: they are the caller's. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#collector.close();
      for (const feed of this.#feeds) feed.end();
      this.#feeds.clear();
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeAllConnections();
      await closed;
    })();
    return this.#closed;
  }

  async #onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      if (!this.#hostAllowed(request.headers.host)) {
        throw new EdgeFailure(403, "PERMISSION_DENIED", "this dashboard answers only requests addressed to its own loopback address");
      }
      const path = new URL(request.url ?? "/", "http://dashboard").pathname;
      const asset = ASSETS[path === "/index.html" ? "/" : path];
      if (asset !== undefined) {
        allow(request, "GET");
        send(response, 200, asset.type, asset.body, { "cache-control": "no-cache", "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'" });
      } else if (path === "/api/snapshot") {
        allow(request, "GET");
        send(response, 200, "application/json", toJsonText(this.#collector.snapshot));
      } else if (path === "/api/events") {
        allow(request, "GET");
        this.#openFeed(request, response);
      } else if (path === "/api/call") {
        allow(request, "POST");
        if (!isJsonContentType(request.headers["content-type"])) throw new EdgeFailure(415, "INVALID_ARGUMENT", "the body must be JSON (Content-Type: application/json)");
        const body = parseJson(await readBody(request, this.#maxBody), MAX_JSON_DEPTH);
        send(response, 200, "application/json", toJsonText(await callFromForm(this.#collector, body)));
      } else {
        throw new EdgeFailure(404, "NOT_FOUND", `no such page: ${path}; the dashboard serves /, /api/snapshot, /api/events and POST /api/call`);
      }
    } catch (error) {
      const failure = failureOf(error, true);
      if (!response.headersSent) send(response, failure.status, "application/json", JSON.stringify(failure.toJSON()), failure.headers);
      else response.destroy();
    }
  }

  /**
   * On loopback, the Host header must name loopback too: a web page elsewhere
   * cannot then reach the dashboard through a name it rebinds to 127.0.0.1.
   */
  #hostAllowed(header: string | undefined): boolean {
    if (!["127.0.0.1", "::1", "localhost"].includes(this.#host)) return true;
    if (header === undefined) return false;
    const name = header.startsWith("[") ? header.slice(0, header.indexOf("]") + 1) : header.split(":")[0];
    return name === "127.0.0.1" || name === "localhost" || name === "[::1]";
  }

  #openFeed(request: IncomingMessage, response: ServerResponse): void {
    if (this.#feeds.size >= MAX_FEEDS) throw new EdgeFailure(503, "RESOURCE_EXHAUSTED", `${MAX_FEEDS} pages are open already`);
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    response.write(`retry: 2000\n\nevent: snapshot\ndata: ${toJsonText(this.#collector.snapshot)}\n\n`);
    this.#feeds.add(response);
    request.on("close", () => this.#feeds.delete(response));
  }

  #broadcast(snapshot: DashboardSnapshot): void {
    if (this.#feeds.size === 0) return;
    const event = `event: snapshot\ndata: ${toJsonText(snapshot)}\n\n`;
    for (const feed of this.#feeds) {
      // A page that does not keep up misses snapshots rather than having them buffered without bound.
      if (!feed.writableNeedDrain) feed.write(event);
    }
  }
}

/**
 * Starts the dashboard: a page at `http://127.0.0.1:8090/` that shows, live,
 * the clusters the given nodes are members of (nodes, gateways, traffic per
 * link), the service catalog with a form to call any method, and recent calls.
 *
 * @example
 * const node = await startNode({ cluster: "shop", seeds: ["udp://127.0.0.1:7946"] });
 * const dashboard = await startDashboard({ nodes: [node], port: 8090 });
 * console.log(dashboard.url);
 * // …
 * await dashboard.close();
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const port = options.port ?? DEFAULT_DASHBOARD_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`dashboard port must be 0 to 65535, got ${String(port)}`);
  const interval = options.interval ?? 1_000;
  if (!Number.isFinite(interval) || interval < 100) throw new TypeError(`dashboard interval must be at least 100 ms, got ${String(interval)}`);
  if (options.nodes.length === 0) throw new TypeError("dashboard needs at least one node to watch a cluster through");
  const maxBody = options.maxBody ?? 65_536;
  // A member that takes longer than two intervals to answer is shown without figures.
  const timeout = Math.min(5_000, interval * 2);
  const readers = options.nodes.map((entry) =>
    entry instanceof Node
      ? new ClusterReader(entry, { edge: false, hidden: false }, timeout)
      : new ClusterReader(entry.node, { edge: entry.edge === true, hidden: entry.hidden === true }, timeout),
  );
  const collector = new Collector(readers, { interval, timeout });
  const dashboard = new Dashboard(collector, options.host ?? "127.0.0.1", maxBody);
  await dashboard.listen(port);
  try {
    await collector.start();
  } catch (error) {
    await dashboard.close();
    throw error;
  }
  return dashboard;
}

function allow(request: IncomingMessage, method: "GET" | "POST"): void {
  if (request.method === method || (method === "GET" && request.method === "HEAD")) return;
  throw new EdgeFailure(405, "UNIMPLEMENTED", `method not allowed here; use ${method}`, { headers: { allow: method } });
}

function send(response: ServerResponse, status: number, type: string, body: string, headers: Readonly<Record<string, string>> = {}): void {
  response.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), ...headers });
  response.end(body);
}
