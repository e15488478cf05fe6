import assert from "node:assert/strict";
import { test } from "node:test";
import { resolvePolicy } from "../../src/balance/policy.ts";
import { ServiceBalancer, type TargetSource } from "../../src/balance/service-balancer.ts";
import { Locality, type LocalityTier, type TargetInfo } from "../../src/balance/target.ts";
import { seededRandom } from "../../src/lookup/membership/index.ts";

/** A source whose instance list the test sets; `epoch` grows with each change, as the node's does. */
function source(): TargetSource & { set(list: Array<{ id: string; tier?: LocalityTier; suspect?: boolean }>): void } {
  let list: TargetInfo[] = [];
  let epoch = 0;
  return {
    get epoch() {
      return epoch;
    },
    collectTargets(_service, _range, _labels, into) {
      for (const info of list) into(info);
    },
    set(next) {
      list = next.map(({ id, tier, suspect }) => ({
        id,
        name: id,
        address: `inproc://${id}`,
        tier: tier ?? Locality.cluster,
        suspect: suspect ?? false,
        invoke: () => Promise.resolve(id),
      }));
      epoch++;
    },
  };
}

function balancer(src: TargetSource) {
  return new ServiceBalancer("svc", null, undefined, src, { random: seededRandom(7), outliers: { consecutiveFailures: 2, baseEjectionMs: 1_000 } });
}

test("a suspected instance is used only when no other is usable", () => {
  const src = source();
  src.set([{ id: "a" }, { id: "b", suspect: true }]);
  const b = balancer(src);
  const policy = resolvePolicy({});
  for (let i = 0; i < 50; i++) assert.equal(b.pick(policy, undefined, null, 0)?.id, "a");
  const a = b.targets().find((t) => t.id === "a")!;
  assert.equal(b.pick(policy, undefined, new Set([a]), 0)?.id, "b", "with a excluded, the suspect serves");
});

test("the nearest tier wins while it has a usable instance; locality off mixes tiers", () => {
  const src = source();
  src.set([{ id: "near", tier: Locality.host }, { id: "far-1" }, { id: "far-2" }]);
  const b = balancer(src);
  const local = resolvePolicy({ strategy: "round-robin" });
  for (let i = 0; i < 20; i++) assert.equal(b.pick(local, undefined, null, 0)?.id, "near");
  const near = b.targets().find((t) => t.id === "near")!;
  assert.match(b.pick(local, undefined, new Set([near]), 0)!.id, /^far-/);
  const anywhere = resolvePolicy({ strategy: "round-robin", locality: false });
  const seen = new Set(Array.from({ length: 9 }, () => b.pick(anywhere, undefined, null, 0)!.id));
  assert.deepEqual([...seen].sort(), ["far-1", "far-2", "near"]);
});

test("an ejected instance is passed over until its ejection ends, then gets one trial call", () => {
  const src = source();
  src.set([{ id: "a" }, { id: "b" }, { id: "c" }, { id: "d" }]);
  const b = balancer(src);
  const policy = resolvePolicy({ strategy: "round-robin" });
  b.targets();
  b.outliers.record("a", false, 0);
  b.outliers.record("a", false, 0);
  assert.equal(b.outliers.state("a", 10), "ejected");
  for (let i = 0; i < 30; i++) assert.notEqual(b.pick(policy, undefined, null, 10)?.id, "a");
  assert.equal(b.pick(policy, undefined, null, 1_500)?.id, "a", "the trial call goes first");
  assert.notEqual(b.pick(policy, undefined, null, 1_500)?.id, "a", "one trial at a time");
});

test("hash keeps a key on its instance, moves it to the next on the ring while that one is ejected, and keeps the stand-in stable", () => {
  const src = source();
  src.set(Array.from({ length: 5 }, (_, i) => ({ id: `n${i}` })));
  const b = balancer(src);
  const policy = resolvePolicy({ strategy: "hash", hashKey: (input) => String(input) });
  const owner = b.pick(policy, "user-42", null, 0)!.id;
  for (let i = 0; i < 10; i++) assert.equal(b.pick(policy, "user-42", null, 0)!.id, owner);
  b.outliers.record(owner, false, 0);
  b.outliers.record(owner, false, 0);
  const standIn = b.pick(policy, "user-42", null, 10)!.id;
  assert.notEqual(standIn, owner);
  assert.equal(b.pick(policy, "user-42", null, 10)!.id, standIn, "the stand-in is stable too");
  src.set(Array.from({ length: 5 }, (_, i) => ({ id: `n${i}` })).filter(({ id }) => id !== standIn));
  assert.notEqual(b.pick(policy, "user-42", null, 10)!.id, standIn);
});

test("maxPerInstance passes over a busy instance and returns none when all are busy", () => {
  const src = source();
  src.set([{ id: "a" }, { id: "b" }]);
  const b = balancer(src);
  const policy = resolvePolicy({ maxPerInstance: 1 });
  const first = b.pick(policy, undefined, null, 0)!;
  first.begin();
  const second = b.pick(policy, undefined, null, 0)!;
  assert.notEqual(second.id, first.id);
  second.begin();
  assert.equal(b.pick(policy, undefined, null, 0), undefined);
  first.end(true, 1, 1);
  assert.equal(b.pick(policy, undefined, null, 1)?.id, first.id);
});

test("instances that go away leave the list; their figures go with them", () => {
  const src = source();
  src.set([{ id: "a" }, { id: "b" }]);
  const b = balancer(src);
  b.targets()[0]!.begin();
  src.set([{ id: "b" }]);
  assert.deepEqual(b.targets().map((t) => t.id), ["b"]);
  src.set([{ id: "a" }, { id: "b" }]);
  assert.equal(b.targets().find((t) => t.id === "a")!.outstanding, 0, "a new instance under an old id starts fresh");
});
