import { z } from "zod";
import { contract, unary } from "../../src/index.ts";

/**
 * The balancing benchmarks' contract: `work` answers with the name of the
 * instance that ran it, after that instance's fixed delay, so the caller can
 * count where its calls went; `who` answers the same at once, for a hash key.
 */
export const Spread = contract("bench.balance", "1.0.0", {
  work: unary({ input: z.object({ i: z.number() }), output: z.string() }),
  who: unary({ input: z.object({ key: z.string() }), output: z.string() }),
});
