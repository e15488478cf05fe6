/**
 * The contracts of the shop, shared by every process: each service imports the
 * ones it serves and the ones it calls, so both ends agree on names, versions
 * and schemas. Money is in integer cents, so that no rounding happens on the way.
 * All three are public: end users reach them through the edge too.
 */
import { z } from "zod";
import { contract, stream, topic, unary } from "../../src/index.ts";

const Sku = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, "a SKU is lowercase letters, digits and '-'");
const Cents = z.number().int();
const OrderId = z.number().int().min(1);

/** One line of an order: which product, how many. */
export const Line = z.object({ sku: Sku, qty: z.number().int().min(1).max(1000) });
const Lines = z.array(Line).min(1).max(50);
export type Line = z.infer<typeof Line>;

export const Product = z.object({ sku: Sku, name: z.string(), stock: z.number().int().min(0) });
export type Product = z.infer<typeof Product>;

export const Catalog = contract("catalog", "1.0.0", {
  browse: stream({
    input: z.object({}),
    output: Product,
    description: "Streams every product with its current stock.",
  }),
  check: unary({
    input: z.object({ items: Lines }),
    output: z.array(Product),
    idempotent: true,
    description: "The products of an order. NOT_FOUND for an unknown SKU, FAILED_PRECONDITION when stock is short.",
  }),
}, { public: true });

export const Quote = z.object({
  lines: z.array(z.object({ sku: Sku, qty: z.number().int(), unit: Cents, amount: Cents })),
  subtotal: Cents,
  discount: z.object({ percent: z.number(), reason: z.string() }).nullable(),
  total: Cents,
  currency: z.literal("EUR"),
});
export type Quote = z.infer<typeof Quote>;

export const Pricing = contract("pricing", "1.0.0", {
  quote: unary({
    input: z.object({ items: Lines }),
    output: Quote,
    idempotent: true,
    description: "Prices an order, with a bulk discount from 10 units.",
  }),
}, { public: true });

export const OrderStatus = z.enum(["placed", "paid", "packed", "shipped"]);

export const Orders = contract("orders", "1.0.0", {
  place: unary({
    input: z.object({ items: Lines }),
    output: z.object({ orderId: OrderId, total: Cents, currency: z.literal("EUR"), discount: z.string().nullable() }),
    // Not idempotent: placing twice makes two orders, so Amoeba never retries it on its own.
    description: "Checks the items with catalog, prices them with pricing, and records the order.",
  }),
  track: stream({
    input: z.object({ orderId: OrderId }),
    output: z.object({ orderId: OrderId, status: OrderStatus }),
    description: "Streams an order's status until it is shipped. NOT_FOUND for an unknown order.",
  }),
}, { public: true });

const Cart = z.object({ lines: z.array(Line).max(50) });

/**
 * Shopping carts: an entity type, one cart per shopper, addressed by key
 * (`entities(node, Carts).for("ada")`). Each cart lives on one node of those
 * serving the type at a time, its calls run one at a time, and its state is
 * saved after each of them (docs/entities.md).
 */
export const Carts = contract("cart", "1.0.0", {
  add: unary({ input: Line, output: Cart, description: "Adds a line to this cart." }),
  view: unary({ input: z.object({}), output: Cart, description: "What is in this cart." }),
  checkout: unary({ input: z.object({}), output: Cart, description: "Empties this cart and answers what was in it." }),
});

/** Published by orders once an order is recorded; catalog takes the items out of stock. */
export const OrderPlaced = topic("order.placed", z.object({ orderId: OrderId, items: Lines }));

/** Published by catalog after it changed its stock for an order. */
export const StockChanged = topic(
  "stock.changed",
  z.object({
    orderId: OrderId,
    stock: z.array(z.object({ sku: Sku, before: z.number().int(), after: z.number().int(), restocked: z.boolean() })),
  }),
);
export type StockChange = z.infer<typeof StockChanged.schema>;
