import assert from "node:assert/strict";
import { test } from "node:test";
import { CallTable } from "../../src/rpc/call-table.ts";

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Drives a CallTable and a Map with the same operations and compares them after each. */
function agreeWithMap(nextId: (rand: () => number, step: number) => number, seed: number, steps: number): void {
  const rand = random(seed);
  const table = new CallTable<string>(4);
  const map = new Map<number, string>();
  const held: number[] = [];
  for (let step = 0; step < steps; step++) {
    const roll = rand();
    if (roll < 0.5 || held.length === 0) {
      const id = nextId(rand, step);
      table.set(id, `v${step}`);
      if (!map.has(id)) held.push(id);
      map.set(id, `v${step}`);
    } else if (roll < 0.95) {
      const at = Math.floor(rand() * held.length);
      const id = held[at]!;
      held[at] = held[held.length - 1]!;
      held.pop();
      assert.equal(table.delete(id), true, `delete ${id} at step ${step}`);
      map.delete(id);
    } else {
      // An id that may or may not be held: both must say the same.
      const id = nextId(rand, step) ^ 1;
      const wasHeld = map.delete(id);
      assert.equal(table.delete(id), wasHeld, `delete of ${id} at step ${step}`);
      if (wasHeld) held.splice(held.indexOf(id), 1);
    }
    assert.equal(table.size, map.size, `size at step ${step}`);
    // Every id held is found, and a sample of ids not held is not.
    for (const id of held) assert.equal(table.get(id), map.get(id), `get ${id} at step ${step}`);
    const absent = nextId(rand, step) ^ 1;
    assert.equal(table.get(absent), map.get(absent));
  }
  assert.deepEqual([...table], [...map].sort((a, b) => a[0] - b[0]), "entries by rising id");
}

test("call ids the way a session hands them out (odd, rising by two) are kept like a Map keeps them", () => {
  let next = 1;
  agreeWithMap(() => (next = (next + 2) >>> 0), 1, 3000);
});

test("ids that collide in the table's slots, and ids near 2^32, are kept like a Map keeps them", () => {
  agreeWithMap((rand) => Math.floor(rand() * 40) * 64, 2, 3000);
  agreeWithMap((rand) => 2 ** 32 - 1 - Math.floor(rand() * 200) * 2, 3, 3000);
  agreeWithMap((rand) => Math.floor(rand() * 2 ** 32), 4, 3000);
});

test("a table grows past its first size and keeps every call", () => {
  const table = new CallTable<number>(2);
  for (let id = 1; id < 2000; id += 2) table.set(id, id * 10);
  assert.equal(table.size, 1000);
  for (let id = 1; id < 2000; id += 2) assert.equal(table.get(id), id * 10);
  assert.equal(table.get(2), undefined);
  assert.deepEqual([...table.keys()].slice(0, 3), [1, 3, 5]);
  assert.equal([...table.values()].length, 1000);
});

test("entries are a snapshot: calls may end while they are walked", () => {
  const table = new CallTable<string>();
  for (let id = 1; id <= 9; id += 2) table.set(id, `call ${id}`);
  const seen: number[] = [];
  for (const [id] of table) {
    seen.push(id);
    table.delete(id);
  }
  assert.equal(seen.length, 5);
  assert.equal(table.size, 0);
  table.set(3, "again");
  assert.equal(table.get(3), "again");
});
