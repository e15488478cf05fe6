/**
 * A connection from a browser (or any JavaScript runtime with WebSocket) to
 * an Amoeba edge: one WebSocket at `/jsonrpc` carrying every call, and the
 * typed clients made over it.
 */
import { resolveDeadline, type CallOptions, type Meta } from "../rpc/call-options.ts";
import type { Contract } from "../rpc/contract.ts";
import type { Client } from "../rpc/context.ts";
import { RpcError } from "../rpc/rpc-error.ts";
import { EdgeCall, type CallHost } from "./call.ts";

/**
 * The part of the WebSocket API the client uses: the browser's, or e.g. the
 * `ws` package's on Node 20. The handlers take `any` events so that each
 * implementation's own event types fit without a cast; the client reads only
 * `data`, `code` and `reason`.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

/** A WebSocket constructor. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Options of {@link connectEdge}. */
export interface EdgeClientOptions {
  /** A bearer token for the edge's `authenticate` hook, sent as the `access_token` query parameter (browsers cannot set headers on a WebSocket). */
  token?: string;
  /** The default timeout of every call, in ms. Default: none here; the edge applies its own `defaultTimeout`. */
  timeout?: number;
  /** Metadata sent with every call (lowercase keys; `amoeba-` keys are the edge's). */
  meta?: Meta;
  /** Items a stream's reader may fall behind by before the edge waits for it. Default 64. */
  credit?: number;
  /** How long opening the socket may take, in ms. Default 10 000. */
  connectTimeout?: number;
  /** The WebSocket constructor. Default: the global `WebSocket`. */
  WebSocket?: WebSocketConstructor;
}

/** Options of one client, adding to the connection's. */
export interface EdgeServiceOptions {
  /** The default timeout of this client's calls, in ms. */
  timeout?: number;
  /** Metadata sent with this client's calls. */
  meta?: Meta;
}

const OPEN = 1;
const DEFAULT_CREDIT = 64;

/**
 * Opens a WebSocket to the edge at `url` (`https://api.example.com`, or a
 * `wss://…/jsonrpc` address; relative to the page when it has no host).
 * Fails with UNAVAILABLE when the socket cannot open — a browser does not
 * tell why (a refused token, a rate limit and a dead edge look alike).
 *
 * @example
 * const edge = await connectEdge("https://api.shop.example.com", { token });
 * const calc = edge.client(Calculator);
 * await calc.add({ a: 1, b: 2 }, { timeout: 500 }); // 3
 */
export async function connectEdge(url: string | URL, options: EdgeClientOptions = {}): Promise<EdgeConnection> {
  const Impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (Impl === undefined) throw new TypeError("no WebSocket in this runtime: pass options.WebSocket (on Node 20, the ws package's)");
  const credit = options.credit ?? DEFAULT_CREDIT;
  if (!Number.isInteger(credit) || credit < 1 || credit > 10_000) throw new TypeError(`credit must be a whole number from 1 to 10000, got ${String(credit)}`);
  const address = socketAddress(url, options.token);
  const socket = new Impl(address);
  const connectTimeout = options.connectTimeout ?? 10_000;
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      socket.onopen = socket.onerror = socket.onclose = null;
      try {
        socket.close();
      } catch {
        // Closing a socket that never opened may throw; it is gone either way.
      }
      reject(new RpcError("UNAVAILABLE", `cannot open a WebSocket to the edge at ${address.replace(/access_token=[^&]*/, "access_token=…")}: ${why}`));
    };
    const timer = setTimeout(() => fail(`no answer within ${connectTimeout} ms`), connectTimeout);
    socket.onopen = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.onerror = () => fail("refused (unauthenticated, rate limited, another origin, or no edge there)");
    socket.onclose = (event: { code: number }) => fail(`closed with ${event.code}`);
  });
  return new EdgeConnection(socket, { ...options, credit });
}

/** One WebSocket to the edge, shared by every client made on it. */
export class EdgeConnection {
  readonly #socket: WebSocketLike;
  readonly #options: EdgeClientOptions & { credit: number };
  readonly #calls = new Map<number, EdgeCall>();
  readonly #host: CallHost;
  readonly #closed: Promise<{ code: number; reason: string }>;
  #nextId = 0;

  /** Use {@link connectEdge}. */
  constructor(socket: WebSocketLike, options: EdgeClientOptions & { credit: number }) {
    this.#socket = socket;
    this.#options = options;
    this.#host = {
      send: (message) => {
        if (socket.readyState !== OPEN) return false;
        socket.send(JSON.stringify(message));
        return true;
      },
      forget: (id) => this.#calls.delete(id),
    };
    socket.onmessage = (event: { data: unknown }) => this.#onMessage(event.data);
    // An error is always followed by a close, which fails the calls; some
    // implementations (the ws package) throw an error no one listens for.
    socket.onerror = () => {};
    this.#closed = new Promise((resolve) => {
      socket.onclose = (event: { code: number; reason: string }) => {
        const reason = `the connection to the edge closed (${event.code}${event.reason ? `: ${event.reason}` : ""})`;
        for (const call of [...this.#calls.values()]) call.lost(reason);
        this.#calls.clear();
        resolve({ code: event.code, reason: event.reason });
      };
    });
  }

  /** Whether the socket is open: calls made now are sent. */
  get isOpen(): boolean {
    return this.#socket.readyState === OPEN;
  }

  /** Resolves once the socket closed (by either side), with its close code and reason. */
  get closed(): Promise<{ code: number; reason: string }> {
    return this.#closed;
  }

  /** Calls in flight. */
  get pending(): number {
    return this.#calls.size;
  }

  /**
   * A typed client of `contract`, as a node's `client()` returns: unary
   * methods return promises, streams are async iterables, and every method
   * takes `{ timeout, deadline, signal, meta, onMeta }`. Calls fail with an
   * RpcError carrying the code the edge answered.
   */
  client<C extends Contract>(contract: C, options: EdgeServiceOptions = {}): Client<C> {
    const timeout = options.timeout ?? this.#options.timeout;
    const baseMeta = mergeMeta(this.#options.meta, options.meta);
    const client = Object.create(null) as Record<string, unknown>;
    for (const [method, def] of Object.entries(contract.methods)) {
      client[method] = (input: unknown, callOptions?: CallOptions) => {
        const id = ++this.#nextId;
        const call = new EdgeCall(this.#host, id, contract.name, method, def.kind, {
          deadline: resolveDeadline(callOptions, timeout, Date.now()),
          signal: callOptions?.signal,
          meta: mergeMeta(baseMeta, callOptions?.meta),
          onMeta: callOptions?.onMeta,
          credit: this.#options.credit,
        });
        this.#calls.set(id, call);
        return call.start(input);
      };
    }
    return Object.freeze(client) as Client<C>;
  }

  /** Closes the socket; calls in flight fail with UNAVAILABLE and the edge cancels them. */
  close(): void {
    this.#socket.close(1000, "closed by the client");
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") return;
    let message: { id?: unknown; method?: unknown; params?: { id?: unknown; item?: unknown; credit?: unknown }; result?: unknown; error?: unknown; amoeba?: { meta?: unknown } };
    try {
      message = JSON.parse(data) as typeof message;
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null) return;
    if (message.method === "amoeba.item" || message.method === "amoeba.credit") {
      const call = typeof message.params?.id === "number" ? this.#calls.get(message.params.id) : undefined;
      if (message.method === "amoeba.item") call?.item(message.params!.item);
      else call?.credit(message.params!.credit as number);
      return;
    }
    if (typeof message.id === "number") this.#calls.get(message.id)?.response(message);
  }
}

/** The WebSocket address of the edge: ws(s)://host/jsonrpc, with the token as `access_token`. */
function socketAddress(url: string | URL, token: string | undefined): string {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const address = new URL(url, base);
  if (address.protocol === "http:") address.protocol = "ws:";
  else if (address.protocol === "https:") address.protocol = "wss:";
  else if (address.protocol !== "ws:" && address.protocol !== "wss:") throw new TypeError(`the edge's address must be http(s) or ws(s), got ${address.protocol}`);
  if (address.pathname === "/" || address.pathname === "") address.pathname = "/jsonrpc";
  if (token !== undefined) address.searchParams.set("access_token", token);
  return address.href;
}

function mergeMeta(a: Meta | undefined, b: Meta | undefined): Meta | undefined {
  if (!a) return b;
  if (!b) return a;
  return { ...a, ...b };
}
