/**
 * The edge as a fetch-style handler, `(Request) => Promise<Response>`, for
 * Hono, Bun, Deno and every server that speaks the Fetch API: a Request
 * becomes the request and response objects the edge's routes read and
 * write (the same code answers both ways), and what the routes write comes
 * back as a streamed Response — a Server-Sent Events stream included, with
 * backpressure from the reader.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable, Writable } from "node:stream";

/** How the fetch handler reads a request: where it is mounted, and who sent it. */
export interface FetchHandlerOptions {
  /** The path the edge is mounted under, e.g. `/amoeba`: it is taken off before routing. Default: none. */
  readonly basePath?: string;
  /** The client's address, for rate limits and logs (a Fetch Request carries none). Default: `unknown`. */
  readonly clientAddress?: (request: Request) => string | undefined;
}

type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** Answers `request` with `handle`, the edge's node:http handler. */
export function fetchThroughNodeHandler(handle: NodeHandler, request: Request, options: FetchHandlerOptions = {}): Promise<Response> {
  const url = new URL(request.url);
  let path = url.pathname;
  const base = options.basePath?.replace(/\/+$/, "") ?? "";
  if (base !== "") {
    if (path !== base && !path.startsWith(`${base}/`)) return Promise.resolve(Response.json({ error: { code: "NOT_FOUND", message: `no route ${path}` } }, { status: 404 }));
    path = path.slice(base.length) || "/";
  }
  // The "socket": its close ends the calls of this request, as a closed connection does.
  const socket = Object.assign(new EventEmitter(), { remoteAddress: options.clientAddress?.(request) ?? "unknown", encrypted: url.protocol === "https:" });
  const closeSocket = (): void => void socket.emit("close");
  request.signal?.addEventListener("abort", closeSocket, { once: true });
  const body = request.body === null ? Readable.from([]) : Readable.fromWeb(request.body as import("node:stream/web").ReadableStream<Uint8Array>);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => (headers[name] = value));
  // A body of unknown length reaches a node:http server chunked; the routes read it so.
  if (request.body !== null && headers["content-length"] === undefined) headers["transfer-encoding"] = "chunked";
  const incoming = Object.assign(body, { method: request.method, url: `${path}${url.search}`, headers, socket, httpVersion: "1.1" }) as unknown as IncomingMessage;
  return new Promise<Response>((resolve) => {
    const response = new FetchResponse(resolve, closeSocket);
    handle(incoming, response as unknown as ServerResponse);
  });
}

/** The part of node:http's ServerResponse the edge's routes use, written into a web stream. */
class FetchResponse extends Writable {
  statusCode = 200;
  headersSent = false;
  readonly #headers = new Map<string, string | string[]>();
  readonly #resolve: (response: Response) => void;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #pulled: (() => void) | undefined;
  readonly #stream: ReadableStream<Uint8Array>;

  constructor(resolve: (response: Response) => void, onCancel: () => void) {
    super({ highWaterMark: 16 * 1024 });
    this.#resolve = resolve;
    this.#stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => void (this.#controller = controller),
        pull: () => {
          const pulled = this.#pulled;
          this.#pulled = undefined;
          pulled?.();
        },
        // The reader went away (the client disconnected): the calls of this request end.
        cancel: () => {
          onCancel();
          this.destroy();
        },
      },
      { highWaterMark: 1 },
    );
    this.once("finish", () => {
      this.#send();
      try {
        this.#controller?.close();
      } catch {
        // Already cancelled by the reader.
      }
    });
  }

  setHeader(name: string, value: string | number | readonly string[]): this {
    this.#headers.set(name.toLowerCase(), Array.isArray(value) ? [...value] : String(value));
    return this;
  }

  getHeader(name: string): string | string[] | undefined {
    return this.#headers.get(name.toLowerCase());
  }

  hasHeader(name: string): boolean {
    return this.#headers.has(name.toLowerCase());
  }

  removeHeader(name: string): void {
    this.#headers.delete(name.toLowerCase());
  }

  getHeaders(): Record<string, string | string[]> {
    return Object.fromEntries(this.#headers);
  }

  writeHead(status: number, reason?: string | Record<string, string | number | readonly string[]>, more?: Record<string, string | number | readonly string[]>): this {
    this.statusCode = status;
    const headers = typeof reason === "object" ? reason : more;
    for (const [name, value] of Object.entries(headers ?? {})) this.setHeader(name, value);
    this.#send();
    return this;
  }

  flushHeaders(): void {
    this.#send();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send();
    try {
      this.#controller!.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (error) {
      callback(error as Error);
      return;
    }
    // Backpressure: the next chunk waits until the reader asks for more.
    if ((this.#controller!.desiredSize ?? 1) > 0) callback();
    else this.#pulled = () => callback();
  }

  /** Hands the Response over once: status and headers are then fixed, the body streams. */
  #send(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    const headers = new Headers();
    for (const [name, value] of this.#headers) {
      // Fetch computes these itself; a wrong one would break the body.
      if (name === "content-length" || name === "connection" || name === "transfer-encoding" || name === "keep-alive") continue;
      for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
    }
    const empty = this.statusCode === 204 || this.statusCode === 304;
    this.#resolve(new Response(empty ? null : this.#stream, { status: this.statusCode, headers }));
  }
}
