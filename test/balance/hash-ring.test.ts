import assert from "node:assert/strict";
import { test } from "node:test";
import { HashRing } from "../../src/balance/hash-ring.ts";

interface Instance {
  id: string;
  tag?: string;
}

const idOf = (instance: Instance) => instance.id;
const KEYS = 100_000;

function instances(count: number, from = 0): Instance[] {
  return Array.from({ length: count }, (_, i) => ({ id: `instance-${from + i}` }));
}

function assign(ring: HashRing<Instance>): string[] {
  const owners: string[] = [];
  for (let k = 0; k < KEYS; k++) owners.push(ring.pick(`key-${k}`)!.id);
  return owners;
}

test("an empty ring picks nothing", () => {
  const ring = new HashRing<Instance>([], idOf);
  assert.equal(ring.size, 0);
  assert.equal(ring.pick("anything"), undefined);
  assert.deepEqual(ring.pickSequence("anything", 3), []);
});

test("a key always maps to the same item, whatever order the items came in", () => {
  const items = instances(10);
  const ring = new HashRing(items, idOf);
  const reversed = new HashRing([...items].reverse(), idOf);
  for (let k = 0; k < 10_000; k++) {
    const key = `key-${k}`;
    const owner = ring.pick(key);
    assert.equal(ring.pick(key), owner);
    assert.equal(reversed.pick(key)?.id, owner?.id);
  }
});

test("10 items share 100,000 keys evenly (max/mean <= 1.25)", (t) => {
  const owners = assign(new HashRing(instances(10), idOf));
  const loads = new Map<string, number>();
  for (const owner of owners) loads.set(owner, (loads.get(owner) ?? 0) + 1);
  assert.equal(loads.size, 10);
  const max = Math.max(...loads.values());
  const min = Math.min(...loads.values());
  const mean = KEYS / 10;
  t.diagnostic(`max/mean ${(max / mean).toFixed(3)}, min/mean ${(min / mean).toFixed(3)}`);
  assert.ok(max / mean <= 1.25, `max/mean ${max / mean}`);
  assert.ok(min / mean >= 0.75, `min/mean ${min / mean}`);
});

test("when an item leaves, only its keys move", (t) => {
  const items = instances(10);
  const before = assign(new HashRing(items, idOf));
  const gone = items[3]!.id;
  const after = assign(new HashRing(items.filter((item) => item.id !== gone), idOf));
  let moved = 0;
  for (let k = 0; k < KEYS; k++) {
    if (before[k] === after[k]) continue;
    moved++;
    assert.equal(before[k], gone, `key-${k} moved from ${before[k]} though it stayed`);
  }
  const share = moved / KEYS;
  t.diagnostic(`moved share on leave ${share.toFixed(4)}`);
  assert.equal(after.includes(gone), false);
  assert.ok(share > 0.05 && share <= 0.15, `moved share ${share}`);
});

test("when an item joins, it takes about 1/(N+1) of the keys, and only keys move to it", (t) => {
  const items = instances(10);
  const before = assign(new HashRing(items, idOf));
  const joined = instances(1, 10)[0]!;
  const after = assign(new HashRing([...items, joined], idOf));
  let moved = 0;
  for (let k = 0; k < KEYS; k++) {
    if (before[k] === after[k]) continue;
    moved++;
    assert.equal(after[k], joined.id, `key-${k} moved to ${after[k]}, not to the new item`);
  }
  const share = moved / KEYS;
  t.diagnostic(`moved share on join ${share.toFixed(4)} (1/11 = ${(1 / 11).toFixed(4)})`);
  assert.ok(share > 0.06 && share < 0.13, `moved share ${share}`);
});

test("of items with the same id, the first is kept", () => {
  const first = { id: "a", tag: "first" };
  const second = { id: "a", tag: "second" };
  const ring = new HashRing<Instance>([first, { id: "b" }, second], idOf);
  assert.equal(ring.size, 2);
  let sawA = 0;
  for (let k = 0; k < 1000; k++) {
    const picked = ring.pick(`key-${k}`)!;
    assert.notEqual(picked, second);
    if (picked === first) sawA++;
  }
  assert.ok(sawA > 0);
  // The same set with the duplicate first keeps that one instead.
  assert.equal(new HashRing<Instance>([second, first], idOf).pick("x"), second);
});

test("pickSequence gives distinct items in ring order: the next is where the key goes if the first leaves", () => {
  const items = instances(10);
  const ring = new HashRing(items, idOf);
  for (let k = 0; k < 1000; k++) {
    const key = `key-${k}`;
    const sequence = ring.pickSequence(key, 3);
    assert.equal(sequence.length, 3);
    assert.equal(new Set(sequence).size, 3);
    assert.equal(sequence[0], ring.pick(key));
    if (k < 100) {
      const without = new HashRing(items.filter((item) => item !== sequence[0]), idOf);
      assert.equal(without.pick(key)?.id, sequence[1]!.id);
    }
  }
  assert.equal(ring.pickSequence("key", 50).length, 10);
  assert.equal(new Set(ring.pickSequence("key", 50)).size, 10);
  assert.deepEqual(ring.pickSequence("key", 0), []);
  assert.deepEqual(ring.pickSequence("key", Number.NaN), []);
});

test("pointsPerItem must be a positive integer", () => {
  assert.throws(() => new HashRing(instances(2), idOf, 0), RangeError);
  assert.throws(() => new HashRing(instances(2), idOf, 1.5), RangeError);
  assert.equal(new HashRing(instances(2), idOf, 1).size, 2);
});
