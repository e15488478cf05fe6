/**
 * Who uses the edge: the distinct clients (an authenticated user, else an
 * address) seen in the last minute, the calls the edge placed for them and
 * how many failed, and the requests it refused before any call
 * (authentication, rate limits). The dashboard draws the end users in front
 * of an edge from it.
 *
 * @module
 */
import type { EdgeCall } from "./edge-pipeline.ts";

/** How far back a client still counts (ms). */
export const CLIENT_WINDOW_MS = 60_000;
/** Clients remembered at most: past it, the oldest are forgotten first (a flood of addresses costs no more). */
const MAX_CLIENTS = 10_000;

/** What `amoeba.edge`'s `clients` answers. */
export interface EdgeClientsReading {
  /** Distinct clients seen in the last {@link windowMs}, capped at 10 000. */
  clients: number;
  /** Requests refused before any call since the edge started: no or a bad credential, a rate limit. */
  refused: number;
  /** Requests and WebSocket messages admitted since the edge started. */
  admitted: number;
  /** Calls placed for end users since the edge started, and how many of them failed (unary and client-stream calls, and streams that could not start). */
  calls: number;
  failed: number;
  windowMs: number;
}

/** The edge's tally of its clients. */
export class ClientTally {
  /** Client key → when last seen; a Map keeps insertion order, refreshed by delete-then-set. */
  readonly #lastSeen = new Map<string, number>();
  #refused = 0;
  #admitted = 0;
  #calls = 0;
  #failed = 0;
  readonly #fail = (error: unknown): never => {
    this.#failed++;
    throw error;
  };

  /** A request or message of `client` was admitted at `now`. */
  seen(client: string, now: number): void {
    this.#admitted++;
    const seen = this.#lastSeen;
    // Refreshed at most once a second: the order stays close enough for the window, the map is touched less.
    const last = seen.get(client);
    if (last !== undefined && now - last < 1_000) return;
    if (last !== undefined) seen.delete(client);
    else if (seen.size >= MAX_CLIENTS) seen.delete(seen.keys().next().value!);
    seen.set(client, now);
  }

  /** A request was refused before any call. */
  refused(): void {
    this.#refused++;
  }

  /** `call`, counted: each call placed, and each that fails. */
  counted(call: EdgeCall): EdgeCall {
    return (input, options) => {
      this.#calls++;
      let outcome;
      try {
        outcome = call(input, options);
      } catch (error) {
        return this.#fail(error);
      }
      return outcome instanceof Promise ? outcome.catch(this.#fail) : outcome;
    };
  }

  /** The figures now; forgets clients older than the window. */
  reading(now: number): EdgeClientsReading {
    const seen = this.#lastSeen;
    for (const [client, at] of seen) {
      if (now - at <= CLIENT_WINDOW_MS) break;
      seen.delete(client);
    }
    return { clients: seen.size, refused: this.#refused, admitted: this.#admitted, calls: this.#calls, failed: this.#failed, windowMs: CLIENT_WINDOW_MS };
  }
}
