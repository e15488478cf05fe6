import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A running `/metrics` endpoint. */
export interface MetricsEndpoint {
  /** `http://host:port/metrics`, with the real port. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `render()` at `GET /metrics` in Prometheus's text format (for a
 * scraper; `amoeba serve --metrics-port`). Anything else is 404; only GET and
 * HEAD are answered.
 */
export async function serveMetrics(render: () => string, options: { host?: string; port: number }): Promise<MetricsEndpoint> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found; metrics are at /metrics\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("method not allowed\n");
      return;
    }
    const body = render();
    response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(body) });
    response.end(request.method === "HEAD" ? undefined : body);
  });
  // A scraper keeps its connection; a slow or silent one must not hold the node.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
