/**
 * The edge's WebSocket side: the upgrade at `/jsonrpc` (origin check,
 * authentication, rate limit), one {@link SocketSession} per socket, pings,
 * and closing them all when the edge drains.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { EdgeFailure, failureOf } from "./errors.ts";
import { webSocketOriginAllowed, type Cors } from "./cors.ts";
import { SocketSession, type SessionHost } from "./socket-session.ts";

/** What the WebSocket side needs of the edge, besides what each socket needs. */
export interface WebSocketHost extends SessionHost {
  readonly cors: Cors | undefined;
  /** Whether the edge is closing: new sockets are refused. */
  draining(): boolean;
}

/** Accepts WebSockets at `/jsonrpc` and serves each with a session. */
export class EdgeWebSockets {
  readonly #host: WebSocketHost;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<WebSocket, SocketSession>();

  constructor(host: WebSocketHost) {
    this.#host = host;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: host.limits.maxWebSocketMessage, perMessageDeflate: false, clientTracking: true });
  }

  /** Handles an HTTP upgrade request: a socket, or a refusal written as a plain HTTP answer. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const url = request.url ?? "/";
    const query = url.indexOf("?");
    const path = query < 0 ? url : url.slice(0, query);
    const refuse = (failure: EdgeFailure): void => writeRawFailure(socket, failure);
    if (path !== "/jsonrpc") return refuse(new EdgeFailure(404, "NOT_FOUND", "WebSocket JSON-RPC is at /jsonrpc"));
    if (this.#host.draining()) return refuse(new EdgeFailure(503, "UNAVAILABLE", "the edge is closing"));
    if (!webSocketOriginAllowed(request, this.#host.cors)) return refuse(new EdgeFailure(403, "PERMISSION_DENIED", "this origin may not open a WebSocket here"));
    const token = query < 0 ? null : new URLSearchParams(url.slice(query + 1)).get("access_token");
    Promise.resolve(this.#host.admission.admit(request, 1, token)).then(
      (admitted) => {
        if (admitted instanceof EdgeFailure) return refuse(admitted);
        if (socket.destroyed) return;
        this.#wss.handleUpgrade(request, socket, head, (ws) => {
          this.#sessions.set(ws, new SocketSession(ws, admitted, this.#host));
          ws.once("close", () => this.#sessions.delete(ws));
        });
      },
      (error: unknown) => refuse(failureOf(error, this.#host.jsonRpc.expose)),
    );
  }

  /** Pings every socket; one that missed the previous pong is closed. */
  heartbeat(): void {
    for (const session of this.#sessions.values()) session.heartbeat();
  }

  /** Closes every socket with 1001 ("going away"): their calls are cancelled. */
  closeAll(): void {
    for (const ws of this.#wss.clients) ws.close(1001, "the edge is closing");
  }

  /** Cuts off every socket still open, then stops. */
  async terminate(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
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
