import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectionBound } from "../../../src/lookup/membership/index.ts";
import { SimCluster } from "./sim-cluster.ts";

describe("membership in simulation: restarts, leaves and updates", () => {
  test("a restart under the same name replaces the old id everywhere, before the crash is even noticed", async () => {
    const cluster = new SimCluster({ seed: 21 });
    assert.ok(cluster.grow(8) >= 0);
    const old = cluster.nodes[5]!;
    cluster.crash(old);
    cluster.clock.advance(10);
    const fresh = cluster.add(old.name);
    const restartedAt = cluster.clock.now();
    cluster.start(fresh);
    const took = cluster.clock.runUntil(() => cluster.converged(), 5000);
    assert.ok(took >= 0, "the new id did not replace the old one everywhere");
    for (const node of cluster.running()) {
      assert.equal(node.membership.get(old.id), undefined, `${node.id} still lists the old id`);
      const named = node.membership.members().filter((m) => m.record.name === old.name);
      assert.deepEqual(named.map((m) => m.record.id), [fresh.id]);
    }
    // The old id left (it was replaced); it was never declared dead, and it never comes back.
    assert.deepEqual(cluster.eventsAbout(old.id, ["dead"], restartedAt), []);
    cluster.clock.advance(detectionBound(cluster.config, 8));
    assert.ok(cluster.converged());
    assert.deepEqual(cluster.eventsAbout(old.id, ["alive", "join", "update"], restartedAt), []);
    await cluster.close();
  });

  test("an older id under a known name is stale news and is ignored", async () => {
    const cluster = new SimCluster({ seed: 22 });
    assert.ok(cluster.grow(4) >= 0);
    // A process that started before node-2 did, under its name: an echo from the past.
    const ghost = cluster.add("ghost-host", { record: { name: "node-2", started: 0 } });
    cluster.start(ghost);
    cluster.clock.advance(3000);
    for (const node of cluster.nodes.slice(0, 4)) {
      assert.equal(node.membership.get(ghost.id), undefined);
      assert.equal(node.membership.get(cluster.nodes[2]!.id)?.state, "alive");
    }
    await cluster.close();
  });

  test("a graceful leave is seen as left, never dead", async () => {
    const cluster = new SimCluster({ seed: 23 });
    assert.ok(cluster.grow(8) >= 0);
    const leaver = cluster.nodes[3]!;
    const start = cluster.clock.now();
    const done = leaver.membership.leave();
    leaver.running = false;
    const took = cluster.clock.runUntil(() => cluster.allSee(leaver.id, "left"), cluster.config.leaveTimeout + 500);
    assert.ok(took >= 0, "not everyone saw the leave");
    cluster.clock.advance(cluster.config.leaveTimeout);
    await done;
    assert.equal(leaver.membership.self.state, "left");
    // Long after: still left, never dead, and the rest of the cluster is intact.
    cluster.clock.advance(detectionBound(cluster.config, 8));
    assert.ok(cluster.allSee(leaver.id, "left"));
    // A node the goodbye missed may suspect it for a moment, but is corrected before any death.
    assert.deepEqual(cluster.eventsAbout(leaver.id, ["dead"], start), []);
    assert.ok(cluster.converged());
    await cluster.close();
  });

  test("updates to services, load and labels reach every member", async () => {
    const cluster = new SimCluster({ seed: 24 });
    assert.ok(cluster.grow(30) >= 0);
    const node = cluster.nodes[17]!;
    const before = node.membership.self.incarnation;
    node.membership.update({ services: [["calculator", "1.0.0"], ["payments", "2.1.0"]], load: 42, labels: { zone: "c" } });
    assert.equal(node.membership.self.incarnation, before + 1);
    const seen = () =>
      cluster.nodes.every((observer) => {
        const record = observer.membership.get(node.id)?.record;
        return record?.load === 42 && record.services.length === 2 && record.labels.zone === "c";
      });
    const took = cluster.clock.runUntil(seen, 2000);
    assert.ok(took >= 0, "the update did not reach everyone within 2 s");
    console.log(`update reached 30 nodes in ${took} ms simulated`);
    const updates = cluster.eventsAbout(node.id, ["update"]);
    assert.equal(updates.length, 30, "one update event per node, self included");
    await cluster.close();
  });

  test("dead members are forgotten after the reap interval", async () => {
    const cluster = new SimCluster({ seed: 25, config: { reapInterval: 5000 } });
    assert.ok(cluster.grow(5) >= 0);
    const victim = cluster.nodes[2]!;
    cluster.crash(victim);
    assert.ok(cluster.clock.runUntil(() => cluster.allSee(victim.id, "dead"), detectionBound(cluster.config, 5)) >= 0);
    cluster.clock.advance(1000);
    assert.ok(cluster.allSee(victim.id, "dead"), "reaped too early");
    assert.ok(cluster.clock.runUntil(() => cluster.allSee(victim.id, undefined), 5000 * 1.5) >= 0, "not reaped");
    // And it stays forgotten: no stale news brings it back.
    cluster.clock.advance(10_000);
    assert.ok(cluster.allSee(victim.id, undefined));
    await cluster.close();
  });

  test("the same seed gives the same run", async () => {
    const run = (): string => {
      const cluster = new SimCluster({ seed: 77, link: { loss: 0.05, jitter: 10 } });
      cluster.grow(12);
      cluster.crash(cluster.nodes[4]!);
      cluster.clock.advance(5000);
      const trace = JSON.stringify(cluster.events(["join", "suspect", "dead", "alive"]));
      void cluster.close();
      return trace;
    };
    assert.equal(run(), run());
  });
});
