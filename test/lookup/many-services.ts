/**
 * Contracts for the look-up's scale tests: `count` services named like a
 * user's (`inventory.service-number-17`), each with `methods` unary methods.
 */
import { contract, unary, type Contract, type Handlers } from "../../src/index.ts";
import { plainSchema } from "../../src/rpc/plain-schema.ts";

const any = plainSchema<unknown>(() => null);

/** `count` contracts with `methods` methods each, and handlers that answer with the service's name. */
export function manyServices(count: number, methods: number, prefix = "inventory.service-number-"): Array<{ contract: Contract; handlers: Handlers<Contract> }> {
  const out: Array<{ contract: Contract; handlers: Handlers<Contract> }> = [];
  for (let i = 0; i < count; i++) {
    const spec: Record<string, ReturnType<typeof unary>> = {};
    const handlers: Record<string, () => string> = {};
    const name = `${prefix}${i}`;
    for (let m = 0; m < methods; m++) {
      spec[`method${m}`] = unary({ input: any, output: any, idempotent: true });
      handlers[`method${m}`] = () => name;
    }
    out.push({ contract: contract(name, "1.0.0", spec), handlers: handlers as unknown as Handlers<Contract> });
  }
  return out;
}
