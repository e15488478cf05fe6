import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Calculator, handlers } from "../../examples/calculator/service.ts";
import { dynamicContract, newestVersion } from "../../src/dashboard/dynamic-contract.ts";
import { findServices } from "../../src/cli/load-module.ts";

// In-process checks of the export shapes `amoeba serve` accepts; the spawned
// tests in serve.test.ts cover the same through the real command.
describe("findServices", () => {
  const entry = { contract: Calculator, handlers };

  it("takes `services`, a list or one entry", () => {
    assert.deepEqual(findServices({ services: [entry] }, "m"), [entry]);
    assert.deepEqual(findServices({ services: entry }, "m"), [entry]);
  });

  it("prefers `services` over everything else", () => {
    assert.deepEqual(findServices({ services: [entry], default: [], Calculator, handlers: {} }, "m"), [entry]);
  });

  it("takes a default export, or a CommonJS module's `services`", () => {
    assert.deepEqual(findServices({ default: [entry] }, "m"), [entry]);
    assert.deepEqual(findServices({ default: { services: [entry] } }, "m"), [entry]);
  });

  it("takes one contract plus `handlers`", () => {
    assert.deepEqual(findServices({ Calculator, handlers }, "m"), [entry]);
  });

  it("refuses what it cannot serve unambiguously, saying why", () => {
    assert.throws(() => findServices({}, "m"), /m exports nothing to serve \(found: no exports\)/);
    assert.throws(() => findServices({ services: [] }, "m"), /empty list/);
    assert.throws(() => findServices({ services: [{ contract: {}, handlers }] }, "m"), /services"\[0\]\.contract is an object, not a contract/);
    assert.throws(() => findServices({ services: [{ contract: Calculator }] }, "m"), /\.handlers is undefined/);
    assert.throws(() => findServices({ A: Calculator, B: Calculator, handlers }, "m"), /several contracts \(A, B\)/);
    assert.throws(() => findServices({ Calculator }, "m"), /contract \(Calculator\) but no "handlers"/);
  });
});

describe("dynamicContract", () => {
  it("builds a one-method contract of the asked kind that accepts any value", async () => {
    const contract = dynamicContract("billing.invoices", "2.1.0", "list", "server-stream");
    assert.equal(contract.name, "billing.invoices");
    assert.equal(contract.methods.list?.kind, "server-stream");
    assert.deepEqual(await contract.methods.list?.input["~standard"].validate({ any: ["thing"] }), { value: { any: ["thing"] } });
  });

  it("rejects a method name a contract cannot have", () => {
    assert.throws(() => dynamicContract("calculator", "1.0.0", "__proto__", "unary"), /cannot be a method name/);
  });
});

describe("newestVersion", () => {
  it("picks the newest version of the service a node serves", () => {
    const served = [["calculator", "1.10.0"], ["calculator", "1.9.3"], ["other", "9.0.0"]] as const;
    assert.equal(newestVersion(served, "calculator"), "1.10.0");
    assert.equal(newestVersion(served, "missing"), undefined);
  });
});
