import assert from "node:assert/strict";
import { test } from "node:test";
import * as balance from "../../src/balance/index.ts";

test("the entry point exports every building block", () => {
  const expected = [
    "HashRing",
    "OutlierDetector",
    "PeakEwma",
    "RetryBudget",
    "RoundRobin",
    "WindowedRate",
    "WindowedSum",
    "backoffDelay",
    "hash32",
    "pickP2C",
    "pickRandom",
  ];
  assert.deepEqual(Object.keys(balance).sort(), expected);
  for (const name of expected) assert.equal(typeof balance[name as keyof typeof balance], "function");
});
