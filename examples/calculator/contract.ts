import { z } from "zod";
import { contract, stream, unary } from "../../src/index.ts";

/** The calculator of the design: add, count and a sleep that honours cancellation; public, so the edge serves it. */
export const Calculator = contract("calculator", "1.2.0", {
  add: unary({
    input: z.object({ a: z.number(), b: z.number() }),
    output: z.number(),
    idempotent: true,
    description: "The sum of a and b.",
  }),
  count: stream({
    input: z.object({ to: z.number().int().min(0).max(1_000_000) }),
    output: z.number(),
    description: "Streams 1, 2, … up to `to`.",
  }),
  sleep: unary({
    input: z.object({ ms: z.number().int().min(0).max(3_600_000) }),
    output: z.number(),
    description: "Waits `ms` milliseconds, then returns it; stops early when the call is cancelled.",
  }),
  // Public: `amoeba edge` may serve it to browsers and HTTP clients.
}, { public: true });
