/**
 * Type tests: compiled by `tsc --noEmit` as part of `npm test`, never run.
 * Each `@ts-expect-error` line must fail to compile; if one compiles, tsc
 * reports the directive as unused and the test fails.
 */
import { z } from "zod";
import {
  bidiStream,
  clientStream,
  contract,
  stream,
  unary,
  type CallStream,
  type Client,
  type Handlers,
  type Node,
} from "../../src/index.ts";

const Calculator = contract("calculator", "1.2.0", {
  add: unary({ input: z.object({ a: z.number(), b: z.number() }), output: z.number(), idempotent: true }),
  count: stream({ input: z.object({ to: z.number() }), output: z.number() }),
  sum: clientStream({ input: z.number(), output: z.number() }),
  echo: bidiStream({ input: z.string(), output: z.string() }),
});

declare const node: Node;
declare function expectType<T>(value: T): void;

// --- handlers -----------------------------------------------------------

const good: Handlers<typeof Calculator> = {
  add: ({ a, b }) => a + b,
  async *count({ to }) {
    for (let i = 1; i <= to; i++) yield i;
  },
  async sum(items) {
    let total = 0;
    for await (const n of items) total += n;
    return total;
  },
  async *echo(items) {
    for await (const s of items) yield s;
  },
};
node.serve(Calculator, good);

node.serve(Calculator, {
  ...good,
  // @ts-expect-error a handler returning the wrong type does not compile
  add: ({ a, b }) => `${a + b}`,
});

node.serve(Calculator, {
  ...good,
  // @ts-expect-error a handler reading a field the input lacks does not compile
  add: ({ a, c }) => a + c,
});

node.serve(Calculator, {
  ...good,
  // @ts-expect-error a stream handler yielding the wrong type does not compile
  async *count() {
    yield "one";
  },
});

// @ts-expect-error a missing handler does not compile
node.serve(Calculator, { add: ({ a, b }) => a + b });

// --- clients ------------------------------------------------------------

const calc: Client<typeof Calculator> = node.client(Calculator);

async function calls(): Promise<void> {
  const sum = await calc.add({ a: 1, b: 2 }, { timeout: 200 });
  expectType<number>(sum);
  // @ts-expect-error the result is a number, not a string
  expectType<string>(await calc.add({ a: 1, b: 2 }));

  // @ts-expect-error a call with a wrong input type does not compile
  await calc.add({ a: "1", b: 2 });
  // @ts-expect-error a call missing an input field does not compile
  await calc.add({ a: 1 });
  // @ts-expect-error a method the contract lacks does not exist on the client
  await calc.subtract({ a: 1, b: 2 });

  const counted: CallStream<number> = calc.count({ to: 3 });
  for await (const n of counted) expectType<number>(n);
  // @ts-expect-error stream items are numbers
  for await (const n of calc.count({ to: 3 })) expectType<string>(n);

  expectType<number>(await calc.sum([1, 2, 3]));
  // @ts-expect-error a client stream of the wrong item type does not compile
  await calc.sum(["1"]);

  for await (const s of calc.echo(["a", "b"])) expectType<string>(s);
}
void calls;

// --- contracts ------------------------------------------------------------

// @ts-expect-error a method needs schemas
contract("broken", "1.0.0", { m: unary({ input: 1, output: 2 }) });
