/**
 * Simulated end users: a few browsers in their LANs calling the shop through
 * the edge over plain HTTP (`POST /rpc/<service>/<method>`, JSON in and out),
 * as any non-Amoeba client would. Each user checks items, asks for a quote
 * and now and then places an order — sometimes for a product the shop does
 * not have, so that errors show up next to the traffic. Every user waits a
 * little between calls: the load stays light, whatever the machine.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";

/** How a user's call ended: ok, or the error code the edge answered with. */
type Outcome = "ok" | string;

interface Tally {
  calls: number;
  byOutcome: Map<Outcome, number>;
  latencies: number[];
}

const SKUS = ["apple", "pear", "coffee", "tea", "honey"];
/** One call in this many asks for a product that does not exist. */
const UNKNOWN_EVERY = 15;
/** Each user's calls to the edge carry at most this deadline. */
const TIMEOUT_MS = 2_000;

/** End users calling the edge at `edgeUrl` until stopped. */
export class EndUsers {
  readonly #edgeUrl: string;
  readonly #users: number;
  readonly #thinkMs: number;
  #tally: Tally = emptyTally();
  #running: Promise<void>[] = [];

  constructor(edgeUrl: string, { users = 4, thinkMs = 150 }: { users?: number; thinkMs?: number } = {}) {
    this.#edgeUrl = edgeUrl.replace(/\/$/, "");
    this.#users = users;
    this.#thinkMs = thinkMs;
  }

  /** Starts every user; they stop when `signal` aborts. */
  start(signal: AbortSignal): void {
    for (let user = 1; user <= this.#users; user++) this.#running.push(this.#live(user, signal));
  }

  /** Waits until every user has finished its last call. */
  async stopped(): Promise<void> {
    await Promise.all(this.#running);
  }

  /** What happened since the last summary, as one line: calls, outcomes, p50 and p99. */
  summary(seconds: number): string {
    const tally = this.#tally;
    this.#tally = emptyTally();
    if (tally.calls === 0) return `users: no calls in the last ${seconds} s`;
    const sorted = tally.latencies.sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    const outcomes = [...tally.byOutcome].sort(([a], [b]) => (a === "ok" ? -1 : b === "ok" ? 1 : a.localeCompare(b)));
    return (
      `users: ${tally.calls} calls through the edge in ${seconds} s · ` +
      outcomes.map(([outcome, count]) => `${count} ${outcome}`).join(" · ") +
      ` · p50 ${at(0.5).toFixed(1)} ms · p99 ${at(0.99).toFixed(1)} ms`
    );
  }

  async #live(user: number, signal: AbortSignal): Promise<void> {
    for (let step = user; !signal.aborted; step++) {
      const items = [{ sku: step % UNKNOWN_EVERY === 0 ? "unicorn" : SKUS[step % SKUS.length]!, qty: 1 + (step % 3) }];
      const route = step % 4 === 0 ? "orders/place" : step % 2 === 0 ? "pricing/quote" : "catalog/check";
      await this.#call(route, { items }, signal);
      await sleep(this.#thinkMs * (0.5 + Math.random()), undefined, { signal }).catch(() => {});
    }
  }

  async #call(route: string, input: unknown, signal: AbortSignal): Promise<void> {
    const start = performance.now();
    let outcome: Outcome;
    try {
      const response = await fetch(`${this.#edgeUrl}/rpc/${route}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-timeout": String(TIMEOUT_MS) },
        body: JSON.stringify(input),
        signal,
      });
      const body = (await response.json()) as { error?: { code?: string } };
      outcome = response.ok ? "ok" : (body.error?.code ?? `HTTP ${response.status}`);
    } catch (error) {
      if (signal.aborted) return;
      outcome = `failed (${error instanceof Error ? error.message : String(error)})`;
    }
    const tally = this.#tally;
    tally.calls++;
    tally.byOutcome.set(outcome, (tally.byOutcome.get(outcome) ?? 0) + 1);
    tally.latencies.push(performance.now() - start);
  }
}

function emptyTally(): Tally {
  return { calls: 0, byOutcome: new Map(), latencies: [] };
}
