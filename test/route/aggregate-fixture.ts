/** Services of a `shop` namespace and one outside it, for the aggregation tests: each says which node answered and through which gateways. */
import { z } from "zod";
import { contract, stream, unary, VIA_META, type Handlers, type Node } from "../../src/index.ts";

const whereOutput = z.object({ node: z.string(), via: z.string().nullable() });
const where = unary({ input: z.object({}), output: whereOutput });

export const Cart = contract("shop.cart", "1.0.0", {
  add: unary({ input: z.object({ item: z.string() }), output: z.object({ node: z.string(), item: z.string() }) }),
  count: stream({ input: z.object({ to: z.number() }), output: z.number() }),
  where,
});
export const Orders = contract("shop.orders", "1.0.0", { where });
export const Invoices = contract("billing.invoice", "1.0.0", { where });
/** A name under `shop.*` that no cluster serves. */
export const Missing = contract("shop.missing", "1.0.0", { where });
/** shop.cart as a caller that expects a method the service does not have. */
export const CartPlus = contract("shop.cart", "1.0.0", { ...Cart.methods, remove: unary({ input: z.object({}), output: z.string() }) });

/** The `where` handler of node `name`. */
function whereOn(name: string): Handlers<typeof Orders>["where"] {
  return (_input, ctx) => ({ node: name, via: ctx.meta[VIA_META] ?? null });
}

/** Serves Cart on `node`; returns the function that stops it. */
export function serveCart(node: Node): () => void {
  return node.serve(Cart, {
    add: ({ item }) => ({ node: node.name, item }),
    async *count({ to }) {
      for (let i = 1; i <= to; i++) yield i;
    },
    where: whereOn(node.name),
  });
}

/** Serves Orders on `node`; returns the function that stops it. */
export function serveOrders(node: Node): () => void {
  return node.serve(Orders, { where: whereOn(node.name) });
}

/** Serves Invoices on `node`; returns the function that stops it. */
export function serveInvoices(node: Node): () => void {
  return node.serve(Invoices, { where: whereOn(node.name) });
}

/** The route labels of a member's record: what a gateway advertises there. */
export function routeLabels(labels: Readonly<Record<string, string>>): string[] {
  return Object.keys(labels)
    .filter((key) => key.startsWith("amoeba.route."))
    .sort();
}
