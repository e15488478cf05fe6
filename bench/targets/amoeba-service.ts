import { z } from "zod";
import { contract, unary, type Handlers } from "../../src/index.ts";

/** The benchmark's Amoeba contract: the same two calls every system serves. */
export const Bench = contract("bench", "1.0.0", {
  add: unary({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }),
  echo: unary({ input: z.string(), output: z.string() }),
});

/** Its handlers: as little work as the raw baseline does. */
export const benchHandlers: Handlers<typeof Bench> = {
  add: ({ a, b }) => a + b,
  echo: (text) => text,
};
