/**
 * The carts service: shopping carts as an entity type. Every cart is one
 * entity, named by its shopper; its state (the lines in it) is saved in a
 * directory after every call that changes it, so a cart outlives this
 * process. One node serves the type here, on the embedded directory store;
 * several would share a store (PostgreSQL, Redis, NATS JetStream KV) and hand
 * carts to each other as they come and go (docs/entities.md).
 */
import { join } from "node:path";
import { serveEntity } from "../../src/entity/index.ts";
import { Carts, type Line } from "./contracts.ts";
import { serving } from "./hops.ts";
import { runService } from "./service-process.ts";

interface Cart {
  lines: Line[];
}

await runService("carts", async (node, { state }) => {
  await serveEntity(node, Carts, {
    dir: join(state ?? join(process.cwd(), ".amoeba"), "carts"),
    initial: (): Cart => ({ lines: [] }),
    readOnly: ["view"],
    handlers: {
      add(line, cart, ctx) {
        const done = serving(ctx);
        const same = cart.state.lines.find((each) => each.sku === line.sku);
        cart.state = { lines: same ? cart.state.lines.map((each) => (each === same ? { sku: each.sku, qty: each.qty + line.qty } : each)) : [...cart.state.lines, line] };
        done();
        return cart.state;
      },
      view(_input, cart, ctx) {
        serving(ctx)();
        return cart.state;
      },
      checkout(_input, cart, ctx) {
        const done = serving(ctx);
        const bought = cart.state;
        cart.state = { lines: [] };
        done();
        return bought;
      },
    },
  });
});
