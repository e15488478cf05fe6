import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectionBound, suspicionBounds } from "../../../src/lookup/membership/index.ts";
import { SimCluster } from "./sim-cluster.ts";

describe("membership in simulation: failures", () => {
  test("a crashed node is marked dead by all within the documented bound", async () => {
    for (const seed of [1, 2, 3]) {
      const cluster = new SimCluster({ seed });
      assert.ok(cluster.grow(20) >= 0);
      const victim = cluster.nodes[7]!;
      const bound = detectionBound(cluster.config, 20);
      cluster.crash(victim);
      const took = cluster.clock.runUntil(() => cluster.allSee(victim.id, "dead"), bound);
      assert.ok(took >= 0, `seed ${seed}: not all nodes saw the crash within ${bound} ms`);
      // Never sooner than the shortest suspicion timeout: that is what protects the slow.
      assert.ok(took >= suspicionBounds(cluster.config, 20).min, `seed ${seed}: dead after only ${took} ms`);
      console.log(`seed ${seed}: crash of 1 in 20 seen by all in ${took} ms (bound ${bound} ms)`);
      // Nobody else was accused on the way.
      const others = cluster.events(["dead"]).filter((e) => e.about !== victim.id);
      assert.deepEqual(others, []);
      await cluster.close();
    }
  });

  test("a node paused for less than the suspicion timeout is never declared dead", async () => {
    const cluster = new SimCluster({ seed: 5 });
    assert.ok(cluster.grow(10) >= 0);
    const { min } = suspicionBounds(cluster.config, 10);
    const slow = cluster.nodes[3]!;
    const start = cluster.clock.now();
    for (let round = 0; round < 5; round++) {
      cluster.sim.pause(slow.address);
      cluster.clock.advance(min / 2);
      cluster.sim.resume(slow.address);
      cluster.clock.advance(2000);
    }
    assert.ok(cluster.clock.runUntil(() => cluster.converged(), 5000) >= 0);
    assert.deepEqual(cluster.events(["dead", "left"], start), []);
    // It was suspected (else the test proves nothing) and refuted each time.
    assert.ok(cluster.eventsAbout(slow.id, ["suspect"], start).length > 0, "the paused node was never suspected");
    assert.ok(slow.membership.stats().refuted > 0);
    await cluster.close();
  });

  test("a node whose every datagram is delayed beyond the probe interval is never declared dead", async () => {
    const cluster = new SimCluster({ seed: 6 });
    assert.ok(cluster.grow(10) >= 0);
    const slow = cluster.nodes[4]!;
    for (const other of cluster.nodes) {
      if (other === slow) continue;
      // 60 ms each way: a round trip of 120 ms misses the 50 ms probe timeout and the 100 ms round.
      cluster.sim.link(slow.address, other.address, { delay: 60, jitter: 5 });
      cluster.sim.link(other.address, slow.address, { delay: 60, jitter: 5 });
    }
    const start = cluster.clock.now();
    cluster.clock.advance(20_000);
    assert.deepEqual(cluster.events(["dead", "left"], start), []);
    // The slow node noticed that it is the slow one and stretched its timeouts.
    assert.ok(slow.membership.stats().awareness > 0, "the delayed node's local health did not degrade");
    assert.ok(slow.membership.stats().refuted > 0, "the delayed node was never suspected (the test proves nothing)");
    cluster.sim.resetLinks();
    assert.ok(cluster.clock.runUntil(() => cluster.converged(), 5000) >= 0);
    await cluster.close();
  });

  test("a one-way partition causes no false death: indirect probes get through", async () => {
    const cluster = new SimCluster({ seed: 8 });
    assert.ok(cluster.grow(8) >= 0);
    const [a, b] = [cluster.nodes[1]!, cluster.nodes[2]!];
    cluster.sim.partition([a.address], [b.address], { oneWay: true });
    const start = cluster.clock.now();
    cluster.clock.advance(30_000);
    assert.deepEqual(cluster.events(["dead", "left"], start), []);
    // Not even a suspicion: the indirect probes answer within the round.
    assert.deepEqual(cluster.events(["suspect"], start), []);
    assert.ok(cluster.converged());
    await cluster.close();
  });

  test("a two-way partition: each side sees the other dead, and one view again after healing", async () => {
    const cluster = new SimCluster({ seed: 9 });
    assert.ok(cluster.grow(10) >= 0);
    const left = cluster.nodes.slice(0, 5);
    const right = cluster.nodes.slice(5);
    cluster.sim.partition(left.map((n) => n.address), right.map((n) => n.address));
    const bound = detectionBound(cluster.config, 10);
    const split = () =>
      left.every((l) => right.every((r) => cluster.stateOf(l, r.id) === "dead" && cluster.stateOf(r, l.id) === "dead")) &&
      left.every((x) => left.every((y) => cluster.stateOf(x, y.id) === "alive")) &&
      right.every((x) => right.every((y) => cluster.stateOf(x, y.id) === "alive"));
    const tookSplit = cluster.clock.runUntil(split, bound);
    assert.ok(tookSplit >= 0, `the sides did not see each other dead within ${bound} ms`);
    cluster.sim.heal();
    // Each push-pull round also tries one dead member; a few rounds bring everyone back.
    const healBound = 4 * cluster.config.pushPullInterval;
    const tookHeal = cluster.clock.runUntil(() => cluster.converged(), healBound);
    assert.ok(tookHeal >= 0, `one view was not restored within ${healBound} ms of healing`);
    console.log(`partition seen in ${tookSplit} ms, healed in ${tookHeal} ms`);
    await cluster.close();
  });

  test("a seed that answers late: start returns, joining goes on in the background", async () => {
    const cluster = new SimCluster({ seed: 10 });
    const seed = cluster.add("node-0");
    const late = cluster.add("node-1");
    cluster.start(late, [seed.address]);
    cluster.clock.advance(cluster.config.joinTimeout * 3);
    assert.equal(late.membership.members().length, 1);
    cluster.start(seed, []);
    const took = cluster.clock.runUntil(() => cluster.converged(), cluster.config.joinRetryInterval * 3);
    assert.ok(took >= 0, "the retry did not join the late seed");
    await cluster.close();
  });
});
