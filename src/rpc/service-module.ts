/**
 * A typed way to write what a module serves: `service(contract, handlers)`
 * pairs a contract with its handlers and checks the handlers against it, the
 * way `node.serve(contract, handlers)` does. A module for `amoeba serve`
 * exports a list of them:
 *
 * ```ts
 * export const services = [service(Calculator, { add: ({ a, b }) => a + b })];
 * ```
 *
 * A missing handler, an unknown method name or a handler that returns the
 * wrong type then fails to compile instead of failing (or, worse, answering)
 * at run time.
 */
import type { Handlers } from "./context.ts";
import type { Contract } from "./contract.ts";

/** One contract with its handlers, as `amoeba serve` takes them from a module. */
export interface ServiceDefinition<C extends Contract = Contract> {
  readonly contract: C;
  readonly handlers: Handlers<C>;
}

/**
 * Pairs `contract` with `handlers`, type-checked against it: one handler per
 * method, each taking the method's input and returning its output.
 *
 * @example
 * ```ts
 * export const services = [service(Calculator, { add: ({ a, b }) => a + b, ... })];
 * ```
 */
export function service<C extends Contract>(contract: C, handlers: Handlers<C>): ServiceDefinition<C> {
  return Object.freeze({ contract, handlers });
}
