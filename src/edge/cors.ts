/** Cross-origin settings of the edge: which web pages may call it from a browser. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ENTITY_HEADER, IDEMPOTENCY_HEADER } from "./keyed-headers.ts";

/** Which origins (scheme://host[:port] of a web page) may call the edge from a browser. */
export interface CorsOptions {
  /** `"*"` for any, a list of exact origins, or a function deciding. */
  origins: "*" | readonly string[] | ((origin: string) => boolean);
  /** Let pages send cookies and HTTP authentication (the origin is then echoed, never `*`). Default false. */
  credentials?: boolean;
  /** How long browsers may cache a preflight answer, in seconds. Default 600. */
  maxAge?: number;
  /** Request headers pages may send, besides the defaults (Content-Type, Authorization, X-Timeout, grpc-timeout, traceparent, tracestate, Amoeba-Entity, Idempotency-Key). */
  allowHeaders?: readonly string[];
}

const DEFAULT_ALLOWED_HEADERS = ["content-type", "authorization", "x-timeout", "grpc-timeout", "traceparent", "tracestate", ENTITY_HEADER, IDEMPOTENCY_HEADER];
const EXPOSED_HEADERS = "retry-after, www-authenticate";

/** CORS settings resolved once, applied per request. */
export class Cors {
  readonly #allow: (origin: string) => boolean;
  readonly #any: boolean;
  readonly #credentials: boolean;
  readonly #maxAge: string;
  readonly #headers: string;

  constructor(options: CorsOptions) {
    const { origins } = options;
    this.#any = origins === "*";
    if (origins === "*") this.#allow = () => true;
    else if (typeof origins === "function") this.#allow = origins;
    else {
      const set = new Set(origins);
      this.#allow = (origin) => set.has(origin);
    }
    this.#credentials = options.credentials ?? false;
    this.#maxAge = String(options.maxAge ?? 600);
    this.#headers = [...new Set([...DEFAULT_ALLOWED_HEADERS, ...(options.allowHeaders ?? []).map((h) => h.toLowerCase())])].join(", ");
  }

  /** Whether a page of `origin` may call. */
  allows(origin: string): boolean {
    try {
      return this.#allow(origin);
    } catch {
      return false;
    }
  }

  /** Adds the headers that let the requesting page read the answer, when its origin is allowed. */
  apply(request: IncomingMessage, response: ServerResponse): void {
    const origin = request.headers.origin;
    if (origin === undefined || !this.allows(origin)) return;
    this.#allowOrigin(origin, response);
    response.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
  }

  /** Answers a preflight (OPTIONS with Access-Control-Request-Method): 204 when allowed, 403 when not. */
  preflight(request: IncomingMessage, response: ServerResponse): void {
    const origin = request.headers.origin;
    if (origin === undefined || !this.allows(origin)) {
      response.writeHead(403, { "content-length": "0", vary: "Origin" }).end();
      return;
    }
    this.#allowOrigin(origin, response);
    response.writeHead(204, {
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers": this.#headers,
      "access-control-max-age": this.#maxAge,
      "content-length": "0",
    });
    response.end();
  }

  #allowOrigin(origin: string, response: ServerResponse): void {
    if (this.#any && !this.#credentials) {
      response.setHeader("access-control-allow-origin", "*");
      return;
    }
    response.setHeader("access-control-allow-origin", origin);
    response.setHeader("vary", "Origin");
    if (this.#credentials) response.setHeader("access-control-allow-credentials", "true");
  }
}

/**
 * Whether a WebSocket handshake from `origin` may proceed. Browsers send
 * Origin on every WebSocket handshake and no preflight protects it, so a
 * page of any site could otherwise open a socket with the user's cookies:
 * a handshake with no Origin (not a browser) or from the edge's own host
 * passes; any other needs the CORS settings to allow it.
 */
export function webSocketOriginAllowed(request: IncomingMessage, cors: Cors | undefined): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (cors?.allows(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
