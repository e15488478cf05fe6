import type { LoggedLine } from "./call-details.ts";

/** One call a node made or served, as its recent-calls ring keeps it. */
export interface RecentCall {
  /** The W3C trace id (32 hex digits): every call of one request shares it, across nodes and hops. */
  traceId: string;
  /** This side's span (16 hex digits). A server span's parent is its caller's client span. */
  spanId: string;
  /** The span this one is a child of, or null for the first call of a trace. */
  parentSpanId: string | null;
  /** `client`: a call this node made (all its attempts); `server`: a call it served. */
  kind: "client" | "server";
  service: string;
  method: string;
  /** The other node's name: the one that answered (its last attempt) for a client call, the caller for a server one. */
  peer: string;
  /** When the call began, in ms since the epoch (this node's clock), to the microsecond. */
  start: number;
  /** How long it took here, in ms. */
  durationMs: number;
  /** `OK` or the status code it ended with. */
  code: string;
  /** Client calls: how many attempts the balancer made (retries and hedges included). */
  attempts?: number;
  /** Served calls, with `traces: { bodies }`: the input and output as JSON text, cut to that many characters. */
  input?: string;
  output?: string;
  /** Served calls, with `traces: { logs }`: the lines the handler wrote through `ctx.log`. */
  logs?: LoggedLine[];
}

/** Which recent calls to read: those of one trace, and at most how many (newest first). */
export interface RecentCallsQuery {
  traceId?: string;
  limit?: number;
}

/** The most a ring may hold: enough for a dashboard, bounded so a typo cannot eat the memory. */
export const MAX_RECENT_CALLS = 100_000;

/**
 * A bounded ring of a node's recent calls, both sides: once full, each new
 * call replaces the oldest. Reading copies nothing but the matches.
 */
export class RecentCalls {
  readonly capacity: number;
  readonly #ring: Array<RecentCall | undefined>;
  #next = 0;

  /** `capacity` calls at most: an integer from 1 to {@link MAX_RECENT_CALLS}. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_RECENT_CALLS) {
      throw new TypeError(`the recent-calls ring holds 1 to ${MAX_RECENT_CALLS} calls; got ${capacity}`);
    }
    this.capacity = capacity;
    this.#ring = new Array<RecentCall | undefined>(capacity);
  }

  add(call: RecentCall): void {
    this.#ring[this.#next] = call;
    this.#next = this.#next + 1 === this.capacity ? 0 : this.#next + 1;
  }

  /** The calls that match, newest first. */
  list(query: RecentCallsQuery = {}): RecentCall[] {
    const limit = query.limit ?? this.capacity;
    const out: RecentCall[] = [];
    for (let i = 1; i <= this.capacity && out.length < limit; i++) {
      const call = this.#ring[(this.#next - i + this.capacity) % this.capacity];
      if (call === undefined) break;
      if (query.traceId === undefined || call.traceId === query.traceId) out.push(call);
    }
    return out;
  }
}
