// startGateway's options: every mistake is a TypeError that says what is wrong, before anything starts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startGateway, type GatewayOptions } from "../../src/index.ts";

test("startGateway refuses bad options with a clear TypeError", async () => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /startGateway needs options/],
    [{}, /gateway join must be an object of clusters/],
    [{ join: [] }, /gateway join must be an object of clusters/],
    [{ join: { core: {} } }, /a gateway joins two clusters or more; join names only core/],
    [{ join: { core: {}, "bad name": {} } }, /"bad name" is not a cluster name/],
    [{ join: { core: {}, b: null } }, /join\.b must be an object/],
    [{ join: { core: { seeds: ["tcp://127.0.0.1:1"] }, b: {} } }, /join\.core\.seeds must be gossip addresses/],
    [{ join: { core: {}, b: {} }, cost: -1 }, /cost must be a whole number from 0 to 1000, got -1/],
    [{ join: { core: {}, b: {} }, cost: 1.5 }, /cost must be a whole number/],
    [{ join: { core: {}, b: {} }, maxHops: 0 }, /maxHops must be a whole number from 1 to 64/],
    [{ join: { core: {}, b: {} }, name: "a,b" }, /name must be a non-empty string without commas/],
    [{ join: { core: {}, b: {} }, traces: { recent: -1 } }, /traces\.recent must be an integer from 0 to 100000; got -1/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(startGateway(options as GatewayOptions), (error: Error) => error instanceof TypeError && message.test(error.message), JSON.stringify(options));
  }
});
