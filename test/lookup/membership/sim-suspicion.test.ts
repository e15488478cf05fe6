import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createSealer } from "../../../src/lookup/membership/auth.ts";
import { decodePacket, encodePacket, type Packet, type StateEntry } from "../../../src/lookup/membership/codec.ts";
import { SimCluster, type SimNode } from "./sim-cluster.ts";

/** Every datagram sent, decoded, with the simulated time. */
function recordPackets(cluster: SimCluster): Array<{ at: number; from: string; to: string; packet: Packet }> {
  const out: Array<{ at: number; from: string; to: string; packet: Packet }> = [];
  const sealer = createSealer();
  cluster.sim.tap((from, to, bytes) => {
    const message = sealer.open(bytes);
    if (message) out.push({ at: cluster.clock.now(), from, to, packet: decodePacket(message) });
  });
  return out;
}

/** Hands `target` another view's records in an anti-entropy `sync`, as if from a member it does not know. */
function injectView(cluster: SimCluster, target: SimNode, states: StateEntry[]): void {
  const packet: Packet = { cluster: "sim", sender: "other-view#1", body: { type: "sync", seq: 1, states }, gossip: [] };
  cluster.sim.inject("sim://other-view", target.address, createSealer().seal(encodePacket(packet)));
}

/** `observer`'s entry for `subject`, as a record of an anti-entropy exchange saying `state`. */
function entryAs(observer: SimNode, subject: SimNode, state: "alive" | "dead"): StateEntry {
  const member = observer.membership.get(subject.id)!;
  return { state, incarnation: member.incarnation, record: member.record, ...(state === "dead" ? { age: 0 } : {}) };
}

describe("membership in simulation: suspicion under loss, and healing without refutations", () => {
  test("a probe pings three times in its round: at once, with the indirect probes, and half-way through the rest", async () => {
    const cluster = new SimCluster({ seed: 61 });
    assert.ok(cluster.grow(4) >= 0);
    const b = cluster.nodes[1]!;
    const seen = recordPackets(cluster);
    // Nothing reaches b: the next probe of it fails, and every ping of it shows.
    cluster.sim.partition(cluster.nodes.filter((n) => n !== b).map((n) => n.address), [b.address], { oneWay: true });
    const asked = () => seen.find((d) => d.packet.body.type === "ping-req" && d.packet.body.target === b.id);
    assert.ok(cluster.clock.runUntil(() => asked() !== undefined, 5000) >= 0, "no one probed b");
    cluster.clock.advance(cluster.config.probeInterval);
    // The first probe of b that asked others for help, and its prober.
    const seqOf = (d: { packet: Packet }): number => (d.packet.body as { seq: number }).seq;
    const request = asked()!;
    const a = request.from;
    const pings = seen.filter((d) => d.from === a && d.packet.body.type === "ping" && seqOf(d) === seqOf(request));
    const { probeTimeout, probeInterval } = cluster.config;
    assert.deepEqual(pings.map((d) => d.at - pings[0]!.at), [0, probeTimeout, probeTimeout + (probeInterval - probeTimeout) / 2]);
    const requests = seen.filter((d) => d.from === a && d.packet.body.type === "ping-req" && seqOf(d) === seqOf(request));
    assert.equal(requests.length, 2, "the other two members are asked to probe");
    assert.ok(requests.every((d) => d.at - pings[0]!.at === probeTimeout));
    await cluster.close();
  });

  test("with 10 % of datagrams lost, false suspicions stay rare and no one is declared dead", async () => {
    for (const seed of [1, 2, 3]) {
      const cluster = new SimCluster({ seed, link: { loss: 0.1 } });
      assert.ok(cluster.grow(30, 60_000) >= 0, `seed ${seed}: no convergence`);
      const start = cluster.clock.now();
      cluster.clock.advance(60_000);
      // 18,000 probes in a minute. A probe fails only if its three pings and its
      // three indirect probes all fail: (1 − 0.9²)³ · (1 − 0.9⁴)³ ≈ 2.7·10⁻⁴, five
      // suspicions expected (with two pings, as memberlist's UDP path has, 25).
      const suspected = new Set(cluster.events(["suspect"], start).map((e) => e.about));
      assert.ok(suspected.size <= 12, `seed ${seed}: ${suspected.size} members suspected`);
      assert.deepEqual(cluster.events(["dead"], start), [], `seed ${seed}: a false death`);
      await cluster.close();
    }
  });

  test("the suspect hears of its suspicion from its accuser at once, and pings to a suspect carry it first", async () => {
    const cluster = new SimCluster({ seed: 62 });
    assert.ok(cluster.grow(6) >= 0);
    const b = cluster.nodes[3]!;
    const seen = recordPackets(cluster);
    cluster.sim.partition(cluster.nodes.filter((n) => n !== b).map((n) => n.address), [b.address], { oneWay: true });
    assert.ok(cluster.clock.runUntil(() => cluster.eventsAbout(b.id, ["suspect"]).length > 0, 5000) >= 0);
    const first = cluster.eventsAbout(b.id, ["suspect"])[0]!;
    const accuser = cluster.nodes.find((n) => n.id === first.observer)!;
    const told = seen.find((d) => d.from === accuser.address && d.to === b.address && d.at === first.at && d.packet.body.type === "gossip");
    assert.ok(told, "the accuser did not tell the suspect");
    assert.deepEqual(told.packet.gossip[0], { kind: "suspect", id: b.id, incarnation: b.membership.self.incarnation, from: accuser.id });
    // Pings to b from those holding it suspect lead with the suspicion.
    const aboutB = (d: { packet: Packet }) => d.packet.gossip.some((entry) => entry.kind === "suspect" && entry.id === b.id);
    const pingsToSuspect = () => seen.filter((d) => d.to === b.address && d.packet.body.type === "ping" && d.at > first.at && aboutB(d));
    assert.ok(cluster.clock.runUntil(() => pingsToSuspect().length > 0, 5000) >= 0, "no ping to the suspect carried its suspicion");
    for (const ping of pingsToSuspect()) {
      const lead = ping.packet.gossip[0]!;
      assert.ok(lead.kind === "suspect" && lead.id === b.id, `a ping to the suspect led with ${lead.kind}`);
    }
    await cluster.close();
  });

  test("a healed partition: members held dead are revived by probing, and no member of the majority is suspected", async () => {
    const cluster = new SimCluster({ seed: 63 });
    assert.ok(cluster.grow(24) >= 0);
    const cut = cluster.nodes.slice(19);
    const rest = cluster.nodes.slice(0, 19);
    cluster.sim.partition(cut.map((n) => n.address), rest.map((n) => n.address));
    const split = () => cut.every((c) => rest.every((r) => cluster.stateOf(c, r.id) === "dead" && cluster.stateOf(r, c.id) === "dead"));
    assert.ok(cluster.clock.runUntil(split, 30_000) >= 0, "the sides did not see each other dead");
    // Past gossip to the dead, and every suspicion of the split run out.
    cluster.clock.advance(2 * cluster.config.gossipToTheDead);
    const healedAt = cluster.clock.now();
    cluster.sim.heal();
    const healed = cluster.clock.runUntil(() => cluster.converged(), 4 * cluster.config.pushPullInterval);
    assert.ok(healed >= 0, "one view was not restored");
    // Taken on faith, the other side's view would make every member of the
    // majority a suspect, each suspicion a broadcast and a refutation to all.
    const majority = new Set(rest.map((n) => n.id));
    const suspicions = cluster.events(["suspect"], healedAt).filter((e) => majority.has(e.observer) && majority.has(e.about));
    assert.deepEqual(suspicions, []);
    console.log(`partition of ${cut.length} of 24 healed in ${healed} ms`);
    await cluster.close();
  });

  test("another view's death of a member held alive is checked by a probe: a live one stays alive, a dead one is suspected at once", async () => {
    const cluster = new SimCluster({ seed: 64 });
    assert.ok(cluster.grow(8) >= 0);
    cluster.clock.advance(2000);
    const [t, live, crashed] = [cluster.nodes[1]!, cluster.nodes[2]!, cluster.nodes[3]!];
    const start = cluster.clock.now();
    injectView(cluster, t, [entryAs(t, live, "dead")]);
    cluster.clock.advance(5 * cluster.config.probeInterval);
    assert.deepEqual(cluster.eventsAbout(live.id, ["suspect", "dead"], start), [], "taken on faith");
    assert.equal(live.membership.stats().refuted, 0);
    // A crash that t has not noticed yet: the other view is right, t's own probe agrees.
    cluster.crash(crashed);
    const record = entryAs(t, crashed, "dead");
    const told = cluster.clock.now();
    injectView(cluster, t, [record]);
    assert.ok(cluster.clock.runUntil(() => cluster.stateOf(t, crashed.id) !== "alive", cluster.config.probeInterval + 10) >= 0, "not suspected within the probe's round");
    assert.ok(cluster.eventsAbout(crashed.id, ["suspect"], told).some((e) => e.observer === t.id));
    assert.ok(cluster.clock.runUntil(() => cluster.allSee(crashed.id, "dead"), 10_000) >= 0);
    await cluster.close();
  });
});
