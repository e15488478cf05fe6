/**
 * What every request at the edge goes through before a call: the auth hook,
 * the client's rate limit, trace context, and the deadline it asks for.
 */
import type { IncomingMessage } from "node:http";
import type { Logger } from "../logger.ts";
import type { Meta } from "../rpc/call-options.ts";
import { isRpcError } from "../rpc/rpc-error.ts";
import { EdgeFailure, failureOf } from "./errors.ts";
import { CALLER_META, type Authenticate } from "./options.ts";
import type { ClientTally } from "./client-tally.ts";
import type { RateLimiter } from "./rate-limit.ts";

/** What a request was admitted with: the metadata of its calls and whom it counts against. */
export interface Admitted {
  meta: Meta | undefined;
  client: string;
}

const TRACE_HEADERS = ["traceparent", "tracestate"] as const;
const MAX_TRACE_HEADER = 512;
const GRPC_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };

/** Authentication, rate limits and deadlines, shared by the HTTP routes and the WebSocket side. */
export class Admission {
  readonly #authenticate: Authenticate | undefined;
  readonly #limiter: RateLimiter | undefined;
  readonly #trustProxy: boolean;
  readonly #expose: boolean;
  readonly #logger: Logger;
  /** Who the edge's clients are, for the dashboard. */
  readonly tally: ClientTally;
  /** The deadline of a call that asks for none, in ms. */
  readonly defaultTimeout: number;
  /** The longest deadline a call may ask for, in ms. */
  readonly maxTimeout: number;

  constructor(options: {
    authenticate: Authenticate | undefined;
    limiter: RateLimiter | undefined;
    trustProxy: boolean;
    expose: boolean;
    logger: Logger;
    tally: ClientTally;
    defaultTimeout: number;
    maxTimeout: number;
  }) {
    this.#authenticate = options.authenticate;
    this.#limiter = options.limiter;
    this.#trustProxy = options.trustProxy;
    this.#expose = options.expose;
    this.#logger = options.logger;
    this.tally = options.tally;
    this.defaultTimeout = options.defaultTimeout;
    this.maxTimeout = options.maxTimeout;
  }

  /**
   * Authenticates (when a hook is set) and takes `cost` tokens from the
   * client's bucket (0 to take them later, once the cost is known).
   * Synchronous when there is no hook: the hot path awaits nothing extra.
   */
  admit(request: IncomingMessage, cost: number, queryToken: string | null): Admitted | EdgeFailure | Promise<Admitted | EdgeFailure> {
    const trace = traceMeta(request);
    if (!this.#authenticate) {
      const client = `ip:${this.#clientAddress(request)}`;
      const limited = cost > 0 && this.rateLimit(client, cost);
      if (limited) return limited;
      this.tally.seen(client, Date.now());
      return { meta: trace, client: this.#limiter ? client : "" };
    }
    return this.#authenticated(request, cost, trace, queryToken);
  }

  /** Takes `cost` tokens from `client`'s bucket: a 429 failure when it is empty. */
  rateLimit(client: string, cost: number): EdgeFailure | undefined {
    const wait = this.#limiter?.take(client, cost) ?? 0;
    if (wait === 0) return undefined;
    this.tally.refused();
    const seconds = Math.max(1, Math.ceil(wait / 1000));
    return new EdgeFailure(429, "RESOURCE_EXHAUSTED", `too many requests; retry in ${seconds} s`, { headers: { "retry-after": String(seconds) } });
  }

  /** The call's deadline from `X-Timeout` (ms) or `grpc-timeout` (gRPC's form, e.g. `500m`, `2S`), capped at maxTimeout. */
  timeoutOf(request: IncomingMessage): number | EdgeFailure {
    const plain = request.headers["x-timeout"];
    const grpc = request.headers["grpc-timeout"];
    if (plain === undefined && grpc === undefined) return this.defaultTimeout;
    let ms: number | undefined;
    if (plain !== undefined) ms = typeof plain === "string" && /^\d{1,10}$/.test(plain) ? Number(plain) : undefined;
    else {
      const match = /^(\d{1,8})([HMSmun])$/.exec(grpc as string);
      if (match) ms = Math.ceil(Number(match[1]) * GRPC_UNITS[match[2]!]!);
    }
    if (ms === undefined || ms < 1) {
      return new EdgeFailure(400, "INVALID_ARGUMENT", plain !== undefined ? "X-Timeout takes a whole number of milliseconds ≥ 1" : "grpc-timeout takes digits and a unit (H, M, S, m, u, n)");
    }
    return Math.min(ms, this.maxTimeout);
  }

  async #authenticated(request: IncomingMessage, cost: number, trace: Meta | undefined, queryToken: string | null): Promise<Admitted | EdgeFailure> {
    const token = bearerToken(request.headers.authorization) ?? queryToken;
    let caller;
    try {
      caller = await this.#authenticate!(token, request);
    } catch (error) {
      this.tally.refused();
      if (isRpcError(error)) return failureOf(error, this.#expose);
      this.#logger.warn({ err: error }, "edge: the authenticate hook failed");
      return new EdgeFailure(503, "UNAVAILABLE", "authentication is unavailable; try again later");
    }
    const id = typeof caller === "string" ? caller : caller?.id;
    if (typeof id !== "string" || id === "") {
      this.tally.refused();
      return new EdgeFailure(401, "UNAUTHENTICATED", token === null ? "authentication required: send Authorization: Bearer <token>" : "the token was not accepted", {
        headers: { "www-authenticate": token === null ? 'Bearer realm="amoeba"' : 'Bearer realm="amoeba", error="invalid_token"' },
      });
    }
    const extra = typeof caller === "object" && caller !== null ? caller.meta : undefined;
    const meta: Meta = { ...trace, ...extra, [CALLER_META]: id };
    const client = `caller:${id}`;
    const limited = cost > 0 && this.rateLimit(client, cost);
    if (limited) return limited;
    this.tally.seen(client, Date.now());
    return { meta, client };
  }

  #clientAddress(request: IncomingMessage): string {
    if (this.#trustProxy) {
      const forwarded = request.headers["x-forwarded-for"];
      const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
      if (first) return first;
    }
    return request.socket.remoteAddress ?? "unknown";
  }
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
