import assert from "node:assert/strict";
import { test } from "node:test";
import { InFlight } from "../../src/rpc/in-flight.ts";

test("InFlight: idle at once with none in flight; every waiter wakes when the last call leaves, not before", async () => {
  const calls = new InFlight();
  await calls.idle();
  calls.enter();
  calls.enter();
  const woken: string[] = [];
  const first = calls.idle().then(() => woken.push("first"));
  const second = calls.idle().then(() => woken.push("second"));
  calls.leave();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(woken, [], "one call is still in flight");
  const { leave } = calls; // handed on as a callback, unbound
  leave();
  await Promise.all([first, second]);
  assert.deepEqual(woken, ["first", "second"]);
  await calls.idle();
});
