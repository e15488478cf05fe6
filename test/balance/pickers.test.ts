import assert from "node:assert/strict";
import { test } from "node:test";
import { PeakEwma } from "../../src/balance/peak-ewma.ts";
import { type Pickable, pickP2C, pickRandom, RoundRobin } from "../../src/balance/pickers.ts";
import { seededRandom } from "../../src/lookup/membership/index.ts";

function fixedCost(id: string, cost: number): Pickable {
  return { id, cost: () => cost };
}

function tally<T extends { id: string }>(picks: number, pick: () => T | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const id = pick()!.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

test("p2c: no candidates, nothing; one candidate, that one", () => {
  const random = seededRandom(1);
  assert.equal(pickP2C([], random, 0), undefined);
  const only = fixedCost("only", 5);
  assert.equal(pickP2C([only], random, 0), only);
});

test("p2c compares two distinct candidates: of two, the cheaper always wins", () => {
  const random = seededRandom(2);
  const cheap = fixedCost("cheap", 1);
  const dear = fixedCost("dear", 2);
  for (let i = 0; i < 1000; i++) assert.equal(pickP2C([dear, cheap], random, 0), cheap);
});

test("p2c sends nothing to a candidate 10× as costly as the others, and spreads the rest evenly", (t) => {
  const candidates = [fixedCost("a", 10), fixedCost("b", 10), fixedCost("slow", 100), fixedCost("c", 10)];
  const random = seededRandom(3);
  const counts = tally(10_000, () => pickP2C(candidates, random, 0));
  const slowShare = (counts.get("slow") ?? 0) / 10_000;
  t.diagnostic(`static costs: share to the 10× candidate ${slowShare}`);
  // It is always drawn with one of the others, which is cheaper.
  assert.equal(slowShare, 0);
  for (const id of ["a", "b", "c"]) {
    const share = counts.get(id)! / 10_000;
    assert.ok(Math.abs(share - 1 / 3) < 0.03, `${id} got ${share}`);
  }
});

test("p2c over peak EWMA costs keeps a 10× slower instance under 5 % of live traffic", (t) => {
  // One call per simulated ms for 60 s to four instances, one ten times slower.
  interface Sim extends Pickable {
    latencyMs: number;
    ewma: PeakEwma;
    outstanding: number;
    ends: number[];
    calls: number;
  }
  const make = (id: string, latencyMs: number): Sim => {
    const sim: Sim = {
      id,
      latencyMs,
      ewma: new PeakEwma({ decayMs: 10_000 }),
      outstanding: 0,
      ends: [],
      calls: 0,
      cost: (now) => sim.ewma.cost(now, sim.outstanding),
    };
    return sim;
  };
  const run = (pick: (candidates: Sim[], now: number) => Sim | undefined): Sim[] => {
    const instances = [make("a", 10), make("b", 10), make("c", 10), make("slow", 100)];
    for (let now = 0; now < 60_000; now++) {
      for (const instance of instances) {
        // Latencies are fixed per instance, so calls end in the order they started.
        while (instance.ends.length > 0 && instance.ends[0]! <= now) {
          instance.ends.shift();
          instance.outstanding--;
          instance.ewma.observe(instance.latencyMs, now);
        }
      }
      const chosen = pick(instances, now)!;
      chosen.outstanding++;
      chosen.calls++;
      chosen.ends.push(now + chosen.latencyMs);
    }
    return instances;
  };

  const p2cRandom = seededRandom(4);
  const p2c = run((candidates, now) => pickP2C(candidates, p2cRandom, now));
  const slow = p2c.find((instance) => instance.id === "slow")!;
  const share = slow.calls / 60_000;
  t.diagnostic(`simulated: p2c share to the 10× slower instance ${share.toFixed(5)} (${slow.calls} calls)`);
  assert.ok(share < 0.05, `slow share ${share}`);
  // Its estimate fades while it is avoided, so it is tried now and then rather than never.
  assert.ok(slow.calls > 0);

  const uniform = seededRandom(5);
  const random = run((candidates) => pickRandom(candidates, uniform));
  const randomShare = random.find((instance) => instance.id === "slow")!.calls / 60_000;
  assert.ok(randomShare > 0.2, `random picking gives the slow instance ${randomShare}`);
});

test("p2c: a NaN cost loses", () => {
  const random = seededRandom(6);
  const broken = fixedCost("broken", Number.NaN);
  const fine = fixedCost("fine", 1e9);
  for (let i = 0; i < 100; i++) assert.equal(pickP2C([broken, fine], random, 0), fine);
  for (let i = 0; i < 100; i++) assert.equal(pickP2C([fine, broken], random, 0), fine);
});

test("round-robin takes each in turn, evenly, and copes with a list that shrinks", () => {
  const candidates = [{ id: "a" }, { id: "b" }, { id: "c" }, { id: "d" }];
  const robin = new RoundRobin();
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => robin.next(candidates)!.id), ["a", "b", "c", "d", "a", "b"]);
  const counts = tally(1000, () => robin.next(candidates));
  for (const id of ["a", "b", "c", "d"]) assert.equal(counts.get(id), 250);
  robin.next(candidates); // the next would be d
  assert.equal(robin.next(candidates.slice(0, 2))?.id, "a");
  assert.equal(robin.next([]), undefined);
  assert.equal(new RoundRobin(2).next(candidates)?.id, "c");
  assert.equal(new RoundRobin(9).next(candidates)?.id, "a");
});

test("random picking is roughly even and survives a random source out of range", (t) => {
  const candidates = [{ id: "a" }, { id: "b" }, { id: "c" }, { id: "d" }];
  const random = seededRandom(8);
  const counts = tally(10_000, () => pickRandom(candidates, random));
  const shares = [...counts.values()].map((count) => count / 10_000);
  t.diagnostic(`random shares ${shares.map((share) => share.toFixed(3)).join(" ")}`);
  assert.equal(counts.size, 4);
  for (const share of shares) assert.ok(Math.abs(share - 0.25) < 0.02, `share ${share}`);
  assert.equal(pickRandom(candidates, () => 1)?.id, "d");
  assert.equal(pickRandom(candidates, () => Number.NaN)?.id, "a");
  assert.equal(pickRandom([], random), undefined);
  const pair = [fixedCost("x", 1), fixedCost("y", 1)];
  assert.ok(pair.includes(pickP2C(pair, () => 1, 0)!));
});
