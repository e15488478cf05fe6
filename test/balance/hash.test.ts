import assert from "node:assert/strict";
import { test } from "node:test";
import { hash32 } from "../../src/balance/hash.ts";

test("hash32 is MurmurHash3 x86_32 of the UTF-8 bytes (published test vectors)", () => {
  const vectors: [string, number, number][] = [
    ["", 0, 0],
    ["", 1, 0x514e28b7],
    ["", 0xffffffff, 0x81f16f39],
    ["\0\0\0\0", 0, 0x2362f9de],
    ["aaaa", 0x9747b28c, 0x5a97808a],
    ["Hello, world!", 0x9747b28c, 0x24884cba],
    ["The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd],
    ["Turn me into a hash", 1234, 4138100590],
    // Non-ASCII goes through the UTF-8 path: π is two bytes.
    ["ππππππππ", 0x9747b28c, 0xd58063c1],
  ];
  for (const [text, seed, expected] of vectors) {
    assert.equal(hash32(text, seed), expected, `hash32(${JSON.stringify(text)}, ${seed})`);
  }
});

test("non-ASCII text hashes the same before and after the scratch buffer grows", () => {
  const short = "café-ünïcödé";
  const before = hash32(short);
  hash32("€".repeat(10_000));
  assert.equal(hash32(short), before);
  // A lone surrogate is encoded as U+FFFD, as TextEncoder does everywhere.
  assert.equal(hash32("a\ud800"), hash32("a\ufffd"));
});

test("the seed selects a different hash; results are unsigned 32-bit integers", () => {
  assert.notEqual(hash32("instance-1", 1), hash32("instance-1", 2));
  for (let i = 0; i < 1000; i++) {
    const h = hash32(`k${i}`, i);
    assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32, `hash32 gave ${h}`);
  }
});

test("flipping one input bit flips about half the output bits (avalanche)", () => {
  const flips = new Float64Array(32);
  let samples = 0;
  for (let i = 0; i < 2000; i++) {
    const key = `node-${i}`;
    const base = hash32(key);
    // Change the last character by one bit: the hardest case for a weak hash.
    const last = key.charCodeAt(key.length - 1);
    for (let bit = 0; bit < 7; bit++) {
      const changed = key.slice(0, -1) + String.fromCharCode(last ^ (1 << bit));
      const diff = base ^ hash32(changed);
      for (let out = 0; out < 32; out++) flips[out]! += (diff >>> out) & 1;
      samples++;
    }
  }
  for (let out = 0; out < 32; out++) {
    const p = flips[out]! / samples;
    assert.ok(p > 0.45 && p < 0.55, `output bit ${out} flips with probability ${p.toFixed(3)}`);
  }
});

test("sequential keys spread evenly over buckets", () => {
  const buckets = new Float64Array(100);
  const keys = 100_000;
  for (let i = 0; i < keys; i++) buckets[hash32(`user:${i}`) % 100]!++;
  const expected = keys / 100;
  let chiSquare = 0;
  for (const count of buckets) chiSquare += (count - expected) ** 2 / expected;
  // 99 degrees of freedom: the 99.9th percentile is about 148.
  assert.ok(chiSquare < 148, `chi-square ${chiSquare.toFixed(1)}`);
});
