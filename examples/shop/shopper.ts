/**
 * The end user of the shop: browses, fills a cart and checks it out, places
 * orders (two of them refused on purpose: an unknown product, and a quantity
 * the schema rejects), tracks one, and hears the stock change. It prints what happened where, with
 * timings measured here with performance.now().
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { isRpcError, type Client, type Meta, type Node, type StatusCode } from "../../src/index.ts";
import { entities, type EntityClient } from "../../src/entity/index.ts";
import { Carts, Catalog, Orders, StockChanged, type Line, type StockChange } from "./contracts.ts";
import { hopFrom, nestedHops, type Hop } from "./hops.ts";

/** The budget the shopper gives each order; every hop inside gets what remains. */
const PLACE_TIMEOUT = 2_000;
const EVENT_WAIT = 2_000;

interface Heard {
  at: number;
  from: string;
  payload: StockChange;
}

export class Shopper {
  readonly #catalog: Client<typeof Catalog>;
  readonly #orders: Client<typeof Orders>;
  readonly #carts: EntityClient<typeof Carts>;
  /** Which pid runs which node, to say where an error arose (errors carry the node's name). */
  readonly #pids: Map<string, number>;
  readonly #heard = new Map<number, Heard>();
  readonly #waiting = new Map<number, (heard: Heard) => void>();

  constructor(node: Node, pids: Map<string, number>) {
    this.#catalog = node.client(Catalog);
    this.#orders = node.client(Orders);
    this.#carts = entities(node, Carts);
    this.#pids = pids;
    node.subscribe(StockChanged, (payload, info) => {
      const heard = { at: performance.now(), from: info.from, payload };
      const wake = this.#waiting.get(payload.orderId);
      if (wake) wake(heard);
      else this.#heard.set(payload.orderId, heard);
    });
  }

  /** One round; `detailed` prints a line per call, otherwise one line for the round. */
  async round(n: number, detailed: boolean): Promise<void> {
    const out: string[] = [];
    const say = (detail: string, summary: string): void => {
      if (detailed) console.log(`  ${detail}`);
      else out.push(summary);
    };
    if (detailed) console.log(`round ${n}`);

    // A server stream: the catalog sends its products one by one.
    let meta: Meta = {};
    let start = performance.now();
    const products = [];
    for await (const product of this.#catalog.browse({}, { onMeta: (m) => (meta = m) })) products.push(product);
    let ms = performance.now() - start;
    say(
      `catalog.browse (${meta["served-by"]}) streamed ${products.length} products in ${fmt(ms)} ms: ` +
        `in stock ${products.map((p) => `${p.sku} ${p.stock}`).join(", ")}`,
      `browse ${products.length} products ${fmt(ms)} ms`,
    );

    // The first order comes out of a cart: an entity of its own, kept by carts between calls.
    const cart = this.#carts.for("shopper");
    start = performance.now();
    for (const line of [{ sku: "apple", qty: 2 }, { sku: "pear", qty: 2 }, { sku: "apple", qty: 1 }]) await cart.add(line);
    // Checking out empties the cart: not idempotent, so it carries a key of its own that any retry reuses.
    const { lines } = await cart.checkout({}, { idempotencyKey: `checkout-${process.pid}-${n}`, onMeta: (m) => (meta = m) });
    ms = performance.now() - start;
    say(`cart "shopper" (${meta["served-by"]}): 3 adds, checkout → ${show(lines)} in ${fmt(ms)} ms`, `cart ${show(lines)} ${fmt(ms)} ms`);

    // Two orders that go through, one for an unknown product, one the schema refuses.
    const placed: Array<{ orderId: number; sentAt: number }> = [];
    for (const items of [lines, [{ sku: "coffee", qty: 12 }]]) {
      const order = await this.#place(items);
      placed.push(order);
      say(order.line, `#${order.orderId} ${order.total} ${fmt(order.ms)} ms`);
      if (detailed) console.log(`    ${order.where}`);
    }
    for (const [items, expected] of [
      [[{ sku: "unicorn", qty: 1 }], "NOT_FOUND"],
      [[{ sku: "apple", qty: 0 }], "INVALID_ARGUMENT"],
    ] as const) {
      const failed = await this.#placeExpectingError(items, expected);
      say(failed.line, `✗ ${expected} ${fmt(failed.ms)} ms`);
    }

    // Another server stream: the status of the last order, until it is shipped.
    const last = placed.at(-1)!;
    meta = {};
    start = performance.now();
    const steps = [];
    for await (const update of this.#orders.track({ orderId: last.orderId }, { timeout: 5_000, onMeta: (m) => (meta = m) })) {
      steps.push(update.status);
    }
    ms = performance.now() - start;
    say(
      `orders.track #${last.orderId} (${meta["served-by"]}) streamed ${steps.join(" → ")} in ${fmt(ms)} ms`,
      `track #${last.orderId} ${fmt(ms)} ms`,
    );

    // The event: orders published order.placed, catalog took the items out of stock and said so.
    for (const { orderId, sentAt } of placed) {
      const heard = await this.#stockChange(orderId);
      const changes = heard.payload.stock
        .map((s) => `${s.sku} ${s.before}→${s.after}${s.restocked ? " (restocked)" : ""}`)
        .join(", ");
      say(
        `event order.placed #${orderId} (orders → catalog) → stock.changed (${heard.from} → shopper) ` +
          `${fmt(heard.at - sentAt)} ms after the order was sent: ${changes}`,
        `stock #${orderId} ${changes}`,
      );
    }
    if (!detailed) console.log(`round ${n} · ${out.join(" · ")}`);
  }

  async #place(items: Line[]) {
    const traceId = randomBytes(16).toString("hex");
    const traceparent = `00-${traceId}-${randomBytes(8).toString("hex")}-01`;
    let meta: Meta = {};
    const start = performance.now();
    const order = await this.#orders.place({ items }, { timeout: PLACE_TIMEOUT, meta: { traceparent }, onMeta: (m) => (meta = m) });
    const ms = performance.now() - start;

    const nested = nestedHops(meta);
    const hops: Hop[] = [hopFrom("orders.place", ms, meta), ...nested];
    const total = `${eur(order.total)} ${order.currency}`;
    const line =
      `orders.place ${show(items)} (${meta["served-by"]}) → ` +
      nested.map((hop) => `${hop.call} ${fmt(hop.ms)} ms`).join(", ") +
      ` · total ${fmt(ms)} ms · order #${order.orderId} = ${total}${order.discount ? ` (${order.discount})` : ""}`;
    const lost = hops.filter((hop) => hop.traceId !== traceId).map((hop) => hop.call);
    // Where the nested calls ran, how much of our deadline reached them, and whether the trace did.
    const where =
      "↳ " +
      nested.map((hop) => `${hop.call} on ${hop.servedBy}, ${hop.deadlineLeft} of ${PLACE_TIMEOUT} ms deadline left`).join(" · ") +
      " · " +
      (lost.length === 0 ? `trace ${traceId.slice(0, 8)}… on all ${hops.length} hops` : `trace lost at ${lost.join(", ")}`);
    return { orderId: order.orderId, total, ms, line, where, sentAt: start };
  }

  async #placeExpectingError(items: ReadonlyArray<{ sku: string; qty: number }>, expected: StatusCode) {
    const start = performance.now();
    try {
      const order = await this.#orders.place({ items: [...items] }, { timeout: PLACE_TIMEOUT });
      throw new Error(`orders.place ${show(items)} should have failed with ${expected}, but made order #${order.orderId}`);
    } catch (error) {
      const ms = performance.now() - start;
      if (!isRpcError(error) || error.code !== expected) throw error;
      const where = `${error.node}@pid ${this.#pids.get(error.node ?? "") ?? "?"}`;
      // Messages often start with the target; it is printed once already.
      const message = error.message.replace(`${error.target}: `, "");
      return { ms, line: `orders.place ${show(items)} ✗ ${error.code} from ${error.target} on ${where}: ${message} · ${fmt(ms)} ms` };
    }
  }

  #stockChange(orderId: number): Promise<Heard> {
    const heard = this.#heard.get(orderId);
    this.#heard.delete(orderId);
    if (heard) return Promise.resolve(heard);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(orderId);
        reject(new Error(`no stock.changed for order #${orderId} within ${EVENT_WAIT} ms`));
      }, EVENT_WAIT);
      this.#waiting.set(orderId, (value) => {
        clearTimeout(timer);
        this.#waiting.delete(orderId);
        resolve(value);
      });
    });
  }
}

function show(items: ReadonlyArray<{ sku: string; qty: number }>): string {
  return items.map(({ sku, qty }) => `${qty}×${sku}`).join(" + ");
}

function eur(cents: number): string {
  return (cents / 100).toFixed(2);
}

/** Milliseconds with two significant decimals where they matter. */
function fmt(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}
