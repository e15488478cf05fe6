/** The pricing service: unit prices and the bulk discount. */
import { RpcError } from "../../src/index.ts";
import { Pricing, type Quote } from "./contracts.ts";
import { serving } from "./hops.ts";
import { runService } from "./service-process.ts";

/** Unit prices in cents. */
const prices = new Map<string, number>([
  ["apple", 45],
  ["pear", 60],
  ["coffee", 1_250],
  ["tea", 490],
  ["honey", 720],
]);

const BULK_UNITS = 10;
const BULK_PERCENT = 10;

await runService("pricing", (node) => {
  node.serve(Pricing, {
    quote({ items }, ctx) {
      const done = serving(ctx);
      const lines = items.map(({ sku, qty }) => {
        const unit = prices.get(sku);
        if (unit === undefined) throw new RpcError("NOT_FOUND", `no price for "${sku}"`);
        return { sku, qty, unit, amount: unit * qty };
      });
      const subtotal = lines.reduce((sum, line) => sum + line.amount, 0);
      const units = items.reduce((sum, line) => sum + line.qty, 0);
      const discount = units >= BULK_UNITS ? { percent: BULK_PERCENT, reason: `bulk, ${units} units` } : null;
      const total = discount ? Math.round((subtotal * (100 - discount.percent)) / 100) : subtotal;
      done();
      return { lines, subtotal, discount, total, currency: "EUR" } satisfies Quote;
    },
  });
});
