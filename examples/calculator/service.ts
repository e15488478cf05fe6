import { setTimeout as sleep } from "node:timers/promises";
import { service, type Handlers } from "../../src/index.ts";
import { Calculator } from "./contract.ts";

export { Calculator };

/** The handlers `amoeba serve examples/calculator/service.ts` runs. */
export const handlers: Handlers<typeof Calculator> = {
  add: ({ a, b }) => a + b,
  async *count({ to }, ctx) {
    for (let i = 1; i <= to && !ctx.signal.aborted; i++) yield i;
  },
  async sleep({ ms }, ctx) {
    await sleep(ms, undefined, { signal: ctx.signal });
    return ms;
  },
};

/**
 * What `amoeba serve` looks for: the contracts this module serves, each with
 * its handlers. `service()` checks the handlers against the contract.
 */
export const services = [service(Calculator, handlers)];
