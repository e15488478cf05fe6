// JSON Schemas for people: the types the call form and `amoeba describe`
// show read as TypeScript, and the example the form fills in validates
// against the contract's own schema.
import assert from "node:assert/strict";
import { it } from "node:test";
import { z } from "zod";
import { Calculator } from "../../examples/calculator/contract.ts";
import * as shop from "../../examples/shop/contracts.ts";
import { exampleOf, typeText } from "../../src/dashboard/schema-text.ts";
import { contract, unary } from "../../src/index.ts";
import { methodJsonSchemas } from "../../src/rpc/reflection.ts";

const Tricky = contract("tricky", "1.0.0", {
  make: unary({
    input: z.object({
      email: z.string().email(),
      id: z.string().uuid(),
      code: z.string().regex(/^[A-Z]{3}-\d{2}$/).optional(),
      name: z.string().min(3).max(5),
      tags: z.array(z.string()).min(2),
      mode: z.enum(["fast", "safe"]),
      ratio: z.number().gt(0).lt(1),
      count: z.number().int().min(10).max(20),
      owner: z.object({ id: z.number().int().positive() }).nullable(),
      when: z.union([z.string().datetime(), z.number()]),
    }),
    output: z.number().int(),
  }),
});

it("builds, for every method of the examples and a hard one, an example its contract accepts", async () => {
  const contracts = [...Object.values(shop), Calculator, Tricky].filter((c): c is typeof Tricky => typeof c === "object" && c !== null && "methods" in c);
  let checked = 0;
  for (const c of contracts) {
    for (const [name, def] of Object.entries(c.methods)) {
      const example = exampleOf(methodJsonSchemas(def).input);
      const result = await def.input["~standard"].validate(example);
      assert.equal(result.issues, undefined, `${c.name}.${name}: ${JSON.stringify(example)} → ${JSON.stringify(result.issues)}`);
      checked++;
    }
  }
  assert.ok(checked >= 8, `checked ${checked} methods`);
});

it("shows types as TypeScript users read them, with no raw JSON Schema", () => {
  const input = methodJsonSchemas(shop.Orders.methods.place).input;
  assert.equal(
    typeText(input),
    ["{", "  items: {", "    sku: string;  // matches ^[a-z][a-z0-9-]{0,39}$", "    qty: number;  // integer, 1 to 1000", "  }[];  // 1 to 50 items", "}"].join("\n"),
  );
  const tricky = typeText(methodJsonSchemas(Tricky.methods.make).input);
  assert.match(tricky, /^  email: string;  \/\/ email$/m);
  assert.match(tricky, /^  code\?: string;  \/\/ matches/m, "optional properties are marked");
  assert.match(tricky, /^  mode: "fast" \| "safe";$/m);
  assert.match(tricky, /^  owner: \{\n    id: number;  \/\/ integer, > 0\n  \} \| null;$/m);
  assert.match(tricky, /^  when: string \| number;/m);
  assert.doesNotMatch(tricky, /9007199254740991|"type"|"properties"/, "no JSON Schema noise");
  assert.equal(typeText(methodJsonSchemas(Calculator.methods.add).output), "number");
});
