/** The one handler every system of the edge benchmark serves: add two numbers, input checked by the same zod schema. */
import { z } from "zod";
import { contract, unary } from "../../src/index.ts";

export const AddInput = z.object({ a: z.number(), b: z.number() });

export const BenchCalculator = contract("calculator", "1.0.0", { add: unary({ input: AddInput, output: z.number(), idempotent: true }) }, { public: true });

export const add = ({ a, b }: { a: number; b: number }): number => a + b;

/** The request every system answers: POST this path with this body. */
export const PATH = "/rpc/calculator/add";
export const BODY = JSON.stringify({ a: 20, b: 22 });
