import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createSealer } from "../../../src/lookup/membership/auth.ts";
import { encodePacket, type GossipEntry, type Packet } from "../../../src/lookup/membership/codec.ts";
import { seededRandom, type MemberRecord } from "../../../src/lookup/membership/index.ts";
import { SimCluster, type SimNode } from "./sim-cluster.ts";

/** A sealed packet carrying `gossip`, as `sender` would send it. */
function forged(gossip: GossipEntry[], options: { key?: string; sender?: string; cluster?: string } = {}): Uint8Array {
  const packet: Packet = { cluster: options.cluster ?? "sim", sender: options.sender ?? "intruder#1", body: { type: "gossip" }, gossip };
  return createSealer(options.key).seal(encodePacket(packet));
}

function recordOf(node: SimNode): MemberRecord {
  return { ...node.membership.self.record } as MemberRecord;
}

/** Every member's state and incarnation as each running node sees it. */
function views(cluster: SimCluster): string {
  return JSON.stringify(
    cluster.running().map((node) =>
      node.membership
        .members()
        .map((m) => [m.record.id, m.state, m.incarnation, m.record.gossip, m.record.load])
        .sort(),
    ),
  );
}

describe("membership in simulation: hostile and broken input", () => {
  test("garbage, truncated, huge and deeply nested datagrams are dropped; the view does not move", async () => {
    const cluster = new SimCluster({ seed: 31 });
    assert.ok(cluster.grow(6) >= 0);
    const before = views(cluster);
    const start = cluster.clock.now();
    const random = seededRandom(99);
    const valid = forged([{ kind: "alive", incarnation: 5, record: { ...recordOf(cluster.nodes[0]!), id: "x#1", name: "x" } }]);
    const datagrams: Uint8Array[] = [];
    for (let i = 0; i < 1500; i++) {
      const bytes = new Uint8Array(Math.floor(random() * 1500));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      // Half of them look like plain gossip datagrams at first glance.
      if (i % 2 === 0 && bytes.length > 0) bytes[0] = 0x01;
      datagrams.push(bytes);
    }
    for (let cut = 0; cut < valid.length - 1; cut++) datagrams.push(valid.subarray(0, cut));
    datagrams.push(new Uint8Array(0));
    datagrams.push(new Uint8Array(64_000).fill(0x01)); // within the network's limit, above any packet's
    datagrams.push(new Uint8Array(70_000)); // beyond UDP
    const deep = new Uint8Array(5000).fill(0x91);
    deep[0] = 0x01;
    datagrams.push(deep);
    for (const [i, bytes] of datagrams.entries()) {
      cluster.sim.inject("sim://intruder", cluster.nodes[i % 6]!.address, bytes);
    }
    cluster.clock.advance(2000);
    assert.deepEqual(cluster.events(["join", "update", "suspect", "alive", "dead", "left"], start), []);
    assert.equal(views(cluster), before);
    for (const node of cluster.nodes) assert.ok(node.membership.stats().dropped > 200);
    // Sanity: the whole packet, not truncated, is accepted — the cuts were what made the others fail.
    cluster.sim.inject("sim://intruder", cluster.nodes[0]!.address, valid);
    cluster.clock.advance(10);
    assert.equal(cluster.nodes[0]!.membership.get("x#1")?.state, "alive");
    await cluster.close();
  });

  test("stale incarnations cannot impersonate a member, and its own refutation wins over a forged one", async () => {
    const cluster = new SimCluster({ seed: 32 });
    assert.ok(cluster.grow(6) >= 0);
    const victim = cluster.nodes[1]!;
    victim.membership.update({ load: 1 });
    victim.membership.update({ load: 2 });
    assert.ok(cluster.clock.runUntil(() => cluster.nodes.every((n) => n.membership.get(victim.id)?.incarnation === 2), 2000) >= 0);
    const start = cluster.clock.now();
    const before = views(cluster);
    const evil: MemberRecord = { ...recordOf(victim), gossip: "sim://evil", addresses: ["tcp://evil:1"] };
    const lies: GossipEntry[] = [
      { kind: "alive", incarnation: 0, record: evil },
      { kind: "alive", incarnation: 1, record: evil },
      { kind: "alive", incarnation: 2, record: evil }, // equal: never replaces what is held
      { kind: "suspect", id: victim.id, incarnation: 1, from: "intruder#1" },
      { kind: "dead", id: victim.id, incarnation: 0, from: "intruder#1" },
      { kind: "left", id: victim.id, incarnation: 1 },
    ];
    for (const node of cluster.nodes) {
      if (node === victim) continue;
      for (const lie of lies) cluster.sim.inject("sim://intruder", node.address, forged([lie]));
    }
    cluster.clock.advance(3000);
    assert.equal(views(cluster), before);
    assert.deepEqual(cluster.events(["update", "suspect", "dead", "left", "alive"], start), []);
    // Told a forged record at its own incarnation, the victim refutes it with a higher one.
    cluster.sim.inject("sim://intruder", victim.address, forged([{ kind: "alive", incarnation: 2, record: evil }]));
    cluster.clock.advance(10);
    assert.equal(victim.membership.self.incarnation, 3);
    assert.ok(cluster.clock.runUntil(() => cluster.nodes.every((n) => n.membership.get(victim.id)?.incarnation === 3), 2000) >= 0);
    for (const node of cluster.nodes) assert.equal(node.membership.get(victim.id)?.record.gossip, victim.address);
    await cluster.close();
  });

  test("replayed, duplicated and reordered datagrams change nothing", async () => {
    const cluster = new SimCluster({ seed: 33, key: "replay-key", link: { duplicate: 0.3, jitter: 30 } });
    const recorded: Array<[string, string, Uint8Array]> = [];
    const untap = cluster.sim.tap((from, to, bytes) => recorded.push([from, to, Uint8Array.from(bytes)]));
    assert.ok(cluster.grow(8) >= 0);
    cluster.nodes[2]!.membership.update({ load: 7 });
    cluster.clock.advance(3000);
    untap();
    // History moves on: a leave, an update, a crash.
    const leaver = cluster.nodes[6]!;
    void leaver.membership.leave();
    leaver.running = false;
    cluster.nodes[3]!.membership.update({ load: 9 });
    cluster.crash(cluster.nodes[7]!);
    assert.ok(cluster.clock.runUntil(() => cluster.allSee(cluster.nodes[7]!.id, "dead"), 10_000) >= 0);
    // Gossip may miss a member; the next full-state exchange catches it up.
    const updated = () => cluster.running().every((n) => n.membership.get(cluster.nodes[3]!.id)?.record.load === 9 && cluster.stateOf(n, leaver.id) === "left");
    assert.ok(cluster.clock.runUntil(updated, 2 * cluster.config.pushPullInterval) >= 0);
    cluster.clock.advance(1000);
    const start = cluster.clock.now();
    const before = views(cluster);
    // Every datagram of the past, twice, in a shuffled order.
    const random = seededRandom(5);
    const replay = [...recorded, ...recorded].sort(() => random() - 0.5);
    for (const [from, to, bytes] of replay) cluster.sim.inject(from, to, bytes);
    cluster.clock.advance(3000);
    assert.equal(views(cluster), before);
    assert.deepEqual(cluster.events(["join", "update", "suspect", "alive", "dead", "left"], start), []);
    await cluster.close();
  });

  test("a lossy, duplicating, reordering network: no false deaths, one view", async () => {
    const cluster = new SimCluster({ seed: 34, link: { loss: 0.05, duplicate: 0.2, jitter: 20 } });
    assert.ok(cluster.grow(15) >= 0);
    const start = cluster.clock.now();
    cluster.clock.advance(60_000);
    assert.deepEqual(cluster.events(["dead", "left"], start), []);
    assert.ok(cluster.converged());
    await cluster.close();
  });

  test("with a cluster key, a node with the wrong key or none cannot join, and forged datagrams are dropped", async () => {
    const cluster = new SimCluster({ seed: 35, key: "right key" });
    assert.ok(cluster.grow(5) >= 0);
    const start = cluster.clock.now();
    const wrong = cluster.add("wrong", { key: "wrong key" });
    const none = cluster.add("keyless", { key: null });
    cluster.start(wrong);
    cluster.start(none);
    cluster.clock.advance(5000);
    const members = cluster.nodes.slice(0, 5);
    for (const node of members) {
      assert.equal(node.membership.get(wrong.id), undefined);
      assert.equal(node.membership.get(none.id), undefined);
      assert.equal(node.membership.members().length, 5);
    }
    assert.equal(wrong.membership.members().length, 1);
    assert.equal(none.membership.members().length, 1);
    // Injected news: unsealed, or sealed with the wrong key.
    const intruder: MemberRecord = { ...recordOf(members[0]!), id: "intruder#1", name: "intruder", gossip: "sim://intruder" };
    for (const key of [undefined, "wrong key"]) {
      cluster.sim.inject("sim://intruder", members[0]!.address, forged([{ kind: "alive", incarnation: 1, record: intruder }], { key }));
      cluster.sim.inject("sim://intruder", members[1]!.address, forged([{ kind: "dead", id: members[2]!.id, incarnation: 5, from: "intruder#1" }], { key }));
    }
    cluster.clock.advance(2000);
    for (const node of members) assert.equal(node.membership.get("intruder#1"), undefined);
    assert.deepEqual(cluster.events(["join", "suspect", "dead", "left"], start).filter((e) => members.some((m) => m.id === e.observer)), []);
    assert.ok(members[0]!.membership.stats().dropped > 0);
    // The same datagram sealed with the right key does get in: the key was the only barrier.
    cluster.sim.inject("sim://intruder", members[0]!.address, forged([{ kind: "alive", incarnation: 1, record: intruder }], { key: "right key" }));
    cluster.clock.advance(10);
    assert.equal(members[0]!.membership.get("intruder#1")?.state, "alive");
    await cluster.close();
  });

  test("datagrams of another cluster are dropped", async () => {
    const cluster = new SimCluster({ seed: 36 });
    assert.ok(cluster.grow(3) >= 0);
    const stranger: MemberRecord = { ...recordOf(cluster.nodes[0]!), id: "s#1", name: "s", cluster: "other" };
    cluster.sim.inject("sim://s", cluster.nodes[0]!.address, forged([{ kind: "alive", incarnation: 1, record: stranger }], { cluster: "other" }));
    cluster.sim.inject("sim://s", cluster.nodes[0]!.address, forged([{ kind: "alive", incarnation: 1, record: stranger }]));
    cluster.clock.advance(100);
    assert.equal(cluster.nodes[0]!.membership.get("s#1"), undefined);
    await cluster.close();
  });
});
