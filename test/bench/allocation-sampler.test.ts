import assert from "node:assert/strict";
import { test } from "node:test";
import { AllocationSampler } from "../../bench/allocations/sampler.ts";

// Each call allocates one array of 100 small integers: 16 bytes of header and
// 800 of elements in V8's heap, and 32 for the array object itself.
const PER_CALL = 848;

function allocateArrays(calls: number, keep: unknown[] | null): void {
  for (let i = 0; i < calls; i++) {
    const array = new Array(100).fill(i);
    if (keep) keep.push(array);
  }
}

test("the allocation sampler finds what each call allocated, and where", async () => {
  const sampler = new AllocationSampler();
  const calls = 20_000;
  const kept: unknown[] = [];
  await sampler.start();
  allocateArrays(calls, kept);
  const figures = await sampler.stop(calls);
  assert.equal(kept.length, calls);
  assert.ok(figures.bytesPerCall > PER_CALL * 0.8 && figures.bytesPerCall < PER_CALL * 1.5, `${figures.bytesPerCall} bytes per call, expected about ${PER_CALL}`);
  assert.match(figures.top[0]!.name, /allocateArrays/);
});

test("garbage freed while sampling still counts: the bytes allocated, not the bytes left", async () => {
  const sampler = new AllocationSampler();
  const calls = 50_000;
  await sampler.start();
  // 42 MB of arrays dropped at once: many scavenges run meanwhile.
  allocateArrays(calls, null);
  const figures = await sampler.stop(calls);
  assert.ok(figures.bytesPerCall > PER_CALL * 0.8, `${figures.bytesPerCall} bytes per call, expected about ${PER_CALL}`);
});
