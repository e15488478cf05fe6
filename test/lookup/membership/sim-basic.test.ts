import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SimCluster } from "./sim-cluster.ts";

describe("membership in simulation: joining and failure detection", () => {
  test("50 nodes joining through one seed converge", async () => {
    const cluster = new SimCluster({ seed: 11 });
    const took = cluster.grow(50, 30_000);
    assert.ok(took >= 0, "50 nodes did not converge within 30 s of simulated time");
    // Gossip to every member, no false alarms on a clean network.
    assert.deepEqual(cluster.events(["suspect", "dead", "left"]), []);
    for (const node of cluster.nodes) assert.equal(node.membership.members().length, 50);
    console.log(`50 nodes converged in ${took} ms simulated`);
    await cluster.close();
  });
});

describe("membership in simulation: starting from a formed view", () => {
  test("nodes given every member at start run as a formed cluster: no join traffic, a crash detected, a newcomer admitted", async () => {
    for (const seed of [1, 2]) {
      const cluster = new SimCluster({ seed });
      const nodes = cluster.addFormed(40);
      assert.deepEqual(nodes.map((node) => node.id), nodes.map((node) => node.membership.self.record.id));
      for (const node of nodes) cluster.start(node, []);
      assert.ok(cluster.converged(), "formed from the start");
      cluster.clock.advance(2000);
      assert.deepEqual(cluster.events(["join", "suspect", "dead"]), []);
      const victim = nodes[9]!;
      cluster.crash(victim);
      assert.ok(cluster.clock.runUntil(() => cluster.allSee(victim.id, "dead"), 10_000) >= 0, `seed ${seed}: crash not seen`);
      const newcomer = cluster.add("newcomer");
      cluster.start(newcomer);
      assert.ok(cluster.clock.runUntil(() => cluster.converged(), 5000) >= 0, `seed ${seed}: newcomer not admitted`);
      assert.equal(cluster.stateOf(newcomer, victim.id), "dead", "the newcomer lists the dead member too");
      await cluster.close();
    }
  });
});
