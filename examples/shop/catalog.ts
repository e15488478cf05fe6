/** The catalog service: what the shop sells and how many are in stock. */
import { RpcError } from "../../src/index.ts";
import { Catalog, OrderPlaced, StockChanged } from "./contracts.ts";
import { serving } from "./hops.ts";
import { runService } from "./service-process.ts";

// High enough that the shopper's largest order (12) always finds stock while end users buy too.
const RESTOCK_BELOW = 25;
const RESTOCK_TO = 100;

const products = new Map<string, { name: string; stock: number }>([
  ["apple", { name: "Apple", stock: 100 }],
  ["pear", { name: "Pear", stock: 80 }],
  ["coffee", { name: "Coffee beans, 1 kg", stock: 40 }],
  ["tea", { name: "Green tea", stock: 30 }],
  ["honey", { name: "Honey", stock: 15 }],
]);

await runService("catalog", (node) => {
  node.serve(Catalog, {
    async *browse(_input, ctx) {
      const done = serving(ctx);
      for (const [sku, { name, stock }] of products) {
        if (ctx.signal.aborted) return;
        yield { sku, name, stock };
      }
      done();
    },

    check({ items }, ctx) {
      const done = serving(ctx);
      const found = items.map(({ sku, qty }) => {
        const product = products.get(sku);
        // Thrown RpcErrors reach the caller with their code, and with this service and node as where they arose.
        if (!product) throw new RpcError("NOT_FOUND", `no product "${sku}" in the catalog`);
        if (product.stock < qty) {
          throw new RpcError("FAILED_PRECONDITION", `only ${product.stock} × ${sku} in stock, ${qty} asked`);
        }
        return { sku, name: product.name, stock: product.stock };
      });
      done();
      return found;
    },
  });

  // Stock goes down when an order is placed, not when it is checked. (A real
  // shop would reserve during check; this one keeps it short.)
  node.subscribe(OrderPlaced, ({ orderId, items }) => {
    const stock = items.map(({ sku, qty }) => {
      const product = products.get(sku)!;
      const before = product.stock;
      product.stock = Math.max(0, before - qty);
      // A delivery arrives, so that the shop can run for as long as you watch it.
      const restocked = product.stock < RESTOCK_BELOW;
      if (restocked) product.stock = RESTOCK_TO;
      return { sku, before, after: product.stock, restocked };
    });
    node.publish(StockChanged, { orderId, stock });
  });
});
