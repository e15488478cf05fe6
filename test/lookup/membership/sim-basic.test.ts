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
