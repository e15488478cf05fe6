/**
 * The orders service: places orders by calling catalog and pricing, and tells
 * whoever listens that an order was placed. It finds catalog and pricing by
 * look-up, and serves only once it has seen both.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { RpcError } from "../../src/index.ts";
import { Catalog, OrderPlaced, Orders, OrderStatus, Pricing } from "./contracts.ts";
import { serving, timed, type Hop } from "./hops.ts";
import { runService } from "./service-process.ts";

/** How long each step of a shipment takes in this make-believe warehouse. */
const STEP_MS = 10;

await runService("orders", { needs: [Catalog, Pricing] }, (node) => {
  let lastId = 0;
  const placed = new Set<number>();

  node.serve(Orders, {
    async place({ items }, ctx) {
      const done = serving(ctx);
      // ctx.client: these calls carry this call's deadline, cancellation and trace.
      const catalog = ctx.client(Catalog);
      const pricing = ctx.client(Pricing);
      const hops: Hop[] = [];
      // An unknown SKU fails here with NOT_FOUND; the error travels on to our caller as it is.
      await timed(hops, "catalog.check", (onMeta) => catalog.check({ items }, { onMeta }));
      const quote = await timed(hops, "pricing.quote", (onMeta) => pricing.quote({ items }, { onMeta }));

      const orderId = ++lastId;
      placed.add(orderId);
      node.publish(OrderPlaced, { orderId, items });
      done(hops);
      return { orderId, total: quote.total, currency: quote.currency, discount: quote.discount && `${quote.discount.percent}% off, ${quote.discount.reason}` };
    },

    async *track({ orderId }, ctx) {
      const done = serving(ctx);
      if (!placed.has(orderId)) throw new RpcError("NOT_FOUND", `no order #${orderId}`);
      for (const [step, status] of OrderStatus.options.entries()) {
        // The signal stops the wait early when the caller cancels or its deadline passes.
        if (step > 0) await sleep(STEP_MS, undefined, { signal: ctx.signal });
        yield { orderId, status };
      }
      done();
    },
  });
});
