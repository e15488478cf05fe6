/**
 * Type tests of `service(contract, handlers)`: compiled by `tsc --noEmit`
 * as part of `npm test`, never run. Each `@ts-expect-error` line must fail
 * to compile; if one compiles, tsc reports the directive as unused.
 */
import { z } from "zod";
import { contract, service, stream, unary, type ServiceDefinition } from "../../src/index.ts";
import { connectEdge } from "../../src/browser/index.ts";

const User = z.object({ id: z.string(), name: z.string() });
const Users = contract("users", "1.0.0", {
  get: unary({ input: z.object({ id: z.string() }), output: User }),
  list: stream({ input: z.object({ limit: z.number() }), output: User }),
});

declare function expectType<T>(value: T): void;

// The right handlers compile, and the entry keeps the contract's type.
const good = service(Users, {
  get: ({ id }) => ({ id, name: "Ada" }),
  async *list({ limit }) {
    for (let i = 0; i < limit; i++) yield { id: String(i), name: "Ada" };
  },
});
expectType<ServiceDefinition<typeof Users>>(good);
expectType<typeof Users>(good.contract);
export const services = [good];

service(Users, {
  // @ts-expect-error a handler returning 42 where the output is a User
  get: () => 42,
  async *list() {},
});

service(Users, {
  get: async () => ({ id: "1", name: "Ada" }),
  // @ts-expect-error a stream handler yielding the wrong items
  async *list() {
    yield { id: 1 };
  },
});

// @ts-expect-error a missing handler (list)
service(Users, { get: () => ({ id: "1", name: "Ada" }) });

service(Users, {
  get: () => ({ id: "1", name: "Ada" }),
  async *list() {},
  // @ts-expect-error a handler for a method the contract does not have
  remove: () => true,
});

service(Users, {
  // @ts-expect-error the input is typed: there is no `email`
  get: ({ email }) => ({ id: email, name: "Ada" }),
  async *list() {},
});

// The browser client takes the same contract, with the same types.
const edge = await connectEdge("https://api.example.com");
const user = await edge.client(Users).get({ id: "1" });
expectType<{ id: string; name: string }>(user);
// @ts-expect-error the browser client checks the input as a node's client does
await edge.client(Users).get({ id: 1 });
