import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createSealer } from "../../../src/lookup/membership/auth.ts";
import { decodePacket, encodePacket, type Body, type Packet } from "../../../src/lookup/membership/codec.ts";
import { DIGEST_BUCKETS } from "../../../src/lookup/membership/digest.ts";
import { encodeBody } from "../../../src/wire/index.ts";
import { SimCluster, type SimNode } from "./sim-cluster.ts";

/** Every anti-entropy datagram sent, decoded, with its size. */
function recordExchanges(cluster: SimCluster, key?: string): Array<{ from: string; to: string; size: number; body: Body }> {
  const out: Array<{ from: string; to: string; size: number; body: Body }> = [];
  const sealer = createSealer(key);
  cluster.sim.tap((from, to, bytes) => {
    const message = sealer.open(bytes);
    if (!message) return;
    try {
      const packet = decodePacket(message);
      if (packet.body.type === "push" || packet.body.type === "pull" || packet.body.type === "sync") out.push({ from, to, size: bytes.length, body: packet.body });
    } catch {
      // not a packet: injected garbage
    }
  });
  return out;
}

/** id → state, as `node` sees every member. */
function viewOf(node: SimNode): Map<string, string> {
  return new Map(node.membership.members().map((m) => [m.record.id, m.state]));
}

function sealed(body: unknown, key?: string): Uint8Array {
  // Hand-made: the body as given, not as encodePacket would shape it.
  return createSealer(key).seal(encodeBody([2, "sim", "intruder#1", 4, body, []]));
}

describe("membership in simulation: anti-entropy by digest", () => {
  test("in a steady cluster an exchange is a digest and an empty answer, whatever the view's size", async () => {
    const perExchange: number[] = [];
    for (const n of [10, 40]) {
      const cluster = new SimCluster({ seed: 41 });
      assert.ok(cluster.grow(n) >= 0);
      // Let the joins' gossip die down, then watch several anti-entropy rounds.
      cluster.clock.advance(5_000);
      const seen = recordExchanges(cluster);
      cluster.clock.advance(3 * cluster.config.pushPullInterval);
      const pushes = seen.filter((d) => d.body.type === "push");
      const pulls = seen.filter((d) => d.body.type === "pull");
      assert.ok(pushes.length >= n, `n=${n}: only ${pushes.length} exchanges`);
      assert.equal(pulls.length, pushes.length, "every digest is answered");
      for (const pull of pulls) {
        const body = pull.body as Extract<Body, { type: "pull" }>;
        assert.deepEqual([body.states.length, body.want.length], [0, 0], `n=${n}: a steady view differs in buckets ${body.want.join(",")}`);
      }
      assert.equal(seen.filter((d) => d.body.type === "sync").length, 0, "nothing to send back");
      const bytes = seen.reduce((sum, d) => sum + d.size, 0) / pushes.length;
      perExchange.push(bytes);
      // A full view alone would take ≈ 100 bytes per member.
      assert.ok(bytes < 450, `n=${n}: ${bytes} bytes per exchange`);
      console.log(`n=${n}: ${pushes.length} exchanges, ${bytes.toFixed(0)} bytes each (digest + answer)`);
      await cluster.close();
    }
    // Bounded whatever n: the digest has a fixed number of buckets (an empty one
    // takes 1 byte, a full one 5), so 40 members cost at most 4 bytes per bucket more than 10.
    assert.ok(perExchange[1]! - perExchange[0]! <= 4 * DIGEST_BUCKETS, `${perExchange.join(" → ")} bytes per exchange`);
  });

  test("a newcomer gets the full view in its first exchange, and sends back only itself", async () => {
    const cluster = new SimCluster({ seed: 42 });
    assert.ok(cluster.grow(30) >= 0);
    cluster.clock.advance(5_000);
    const seen = recordExchanges(cluster);
    const newcomer = cluster.add("newcomer");
    cluster.start(newcomer);
    cluster.clock.advance(10);
    const answer = seen.find((d) => d.body.type === "pull" && d.to === newcomer.address)?.body as Extract<Body, { type: "pull" }>;
    assert.ok(answer, "the seed answered the newcomer's digest");
    assert.equal(answer.states.length, 30, "every member in the answer");
    // Right after the first exchange (before any gossip round could tell it), it knows everyone.
    assert.equal(newcomer.membership.members().filter((m) => m.state === "alive").length, 31);
    const back = seen.filter((d) => d.body.type === "sync" && d.from === newcomer.address);
    assert.equal(back.length, 1);
    assert.deepEqual(
      (back[0]!.body as Extract<Body, { type: "sync" }>).states.map((s) => s.record.id),
      [newcomer.id],
      "the newcomer does not echo the view it was given",
    );
    assert.ok(cluster.clock.runUntil(() => cluster.converged(), 2000) >= 0);
    await cluster.close();
  });

  test("a newcomer learns of members already dead or left, and forgets them when the others do", async () => {
    const reapInterval = 20_000;
    const cluster = new SimCluster({ seed: 43, config: { reapInterval } });
    assert.ok(cluster.grow(8) >= 0);
    const crashed = cluster.nodes[3]!;
    const leaver = cluster.nodes[5]!;
    cluster.crash(crashed);
    void leaver.membership.leave();
    leaver.running = false;
    const ended = () => cluster.allSee(crashed.id, "dead") && cluster.allSee(leaver.id, "left");
    assert.ok(cluster.clock.runUntil(ended, 10_000) >= 0);
    const newcomer = cluster.add("newcomer");
    const joinedAt = cluster.clock.now();
    cluster.start(newcomer);
    assert.ok(cluster.clock.runUntil(() => cluster.converged(), 2000) >= 0);
    assert.equal(cluster.stateOf(newcomer, crashed.id), "dead");
    assert.equal(cluster.stateOf(newcomer, leaver.id), "left");
    // One view: every running node lists the same members in the same states.
    const views = cluster.running().map((node) => JSON.stringify([...viewOf(node)].sort()));
    assert.equal(new Set(views).size, 1, "all views equal");
    // No false alarm came of it: the newcomer heard of an old death, not a new one.
    assert.deepEqual(cluster.eventsAbout(crashed.id, ["suspect", "alive", "join"], joinedAt), []);
    assert.deepEqual(cluster.eventsAbout(leaver.id, ["suspect", "alive", "join", "dead"], joinedAt), []);
    // Forgotten at the same time everywhere (within the reap check's period).
    const reaped = () => cluster.running().every((node) => node.membership.get(crashed.id) === undefined && node.membership.get(leaver.id) === undefined);
    assert.ok(cluster.clock.runUntil(reaped, reapInterval + reapInterval / 10) >= 0, "not reaped everywhere");
    cluster.clock.advance(3 * cluster.config.pushPullInterval);
    assert.ok(reaped(), "an ended member came back after it was reaped");
    await cluster.close();
  });

  test("a partition longer than gossip to the dead heals through digests", async () => {
    const cluster = new SimCluster({ seed: 44 });
    assert.ok(cluster.grow(16) >= 0);
    const left = cluster.nodes.slice(0, 8);
    const right = cluster.nodes.slice(8);
    cluster.sim.partition(left.map((n) => n.address), right.map((n) => n.address));
    const split = () => left.every((l) => right.every((r) => cluster.stateOf(l, r.id) === "dead" && cluster.stateOf(r, l.id) === "dead"));
    assert.ok(cluster.clock.runUntil(split, 20_000) >= 0, "the sides did not see each other dead");
    // Long enough that gossip no longer goes to the dead: only anti-entropy can heal it.
    cluster.clock.advance(2 * cluster.config.gossipToTheDead);
    // Meanwhile each side changes: an update on one side, a newcomer on the other.
    left[2]!.membership.update({ load: 5 });
    const late = cluster.add("late");
    cluster.start(late, [right[0]!.address]);
    cluster.clock.advance(2000);
    cluster.sim.heal();
    const healed = cluster.clock.runUntil(() => cluster.converged(), 4 * cluster.config.pushPullInterval);
    assert.ok(healed >= 0, "one view was not restored");
    for (const node of cluster.running()) assert.equal(node.membership.get(left[2]!.id)?.record.load, 5);
    console.log(`partition of ${2 * cluster.config.gossipToTheDead} ms healed in ${healed} ms`);
    await cluster.close();
  });

  test("a view too large for one datagram travels in parts and still converges", async () => {
    // Room for about 10 records per datagram, 40 members.
    const cluster = new SimCluster({ seed: 45, config: { maxPushPullSize: 1500 } });
    assert.ok(cluster.grow(40, 60_000) >= 0);
    const seen = recordExchanges(cluster);
    const newcomer = cluster.add("newcomer");
    cluster.start(newcomer);
    assert.ok(cluster.clock.runUntil(() => cluster.converged(), 30_000) >= 0);
    for (const d of seen) assert.ok(d.size <= 1500, `${d.body.type} of ${d.size} bytes`);
    const first = seen.find((d) => d.body.type === "pull" && d.to === newcomer.address)!.body as Extract<Body, { type: "pull" }>;
    assert.ok(first.states.length > 0 && first.states.length < 40, `a part of the view: ${first.states.length}`);
    assert.equal(first.states[0]!.record.id, cluster.nodes[0]!.id, "the sender's own record first");
    await cluster.close();
  });

  test("malformed digests and answers are dropped: no reply, no change, no crash", async () => {
    const key = "digest-key";
    const cluster = new SimCluster({ seed: 46, key });
    assert.ok(cluster.grow(5) >= 0);
    cluster.clock.advance(2000);
    const target = cluster.nodes[1]!;
    const before = JSON.stringify([...viewOf(target)].sort());
    const dropped = target.membership.stats().dropped;
    const replies: string[] = [];
    cluster.sim.tap((from, to) => {
      if (to === "sim://intruder") replies.push(from);
    });
    const zeros = Array.from({ length: DIGEST_BUCKETS }, () => 0);
    const bad: unknown[] = [
      [true, 1, zeros.slice(1)], // a bucket short
      [true, 1, [...zeros, 0]], // a bucket too many
      [true, 1, zeros.map((_, i) => (i === 7 ? 2 ** 32 : 0))], // above 32 bits
      [true, 1, zeros.map((_, i) => (i === 7 ? -1 : 0))],
      [true, 1, zeros.map((_, i) => (i === 7 ? "x" : 0))],
      [true, 1, zeros.map((_, i) => (i === 7 ? 1.5 : 0))],
      [true, 1, new Uint8Array(256)], // bytes, not hashes
      [true, -1, zeros],
      ["yes", 1, zeros],
      [true, 1],
      [true, 1, zeros, "extra"],
      [true, 1, { length: 64 }],
      null,
    ];
    for (const body of bad) cluster.sim.inject("sim://intruder", target.address, sealed(body, key));
    // Answers (pull) with bad want lists or bad records, and a sync with a bad entry.
    const record = { ...target.membership.self.record, id: "ghost#1", name: "ghost" };
    const wire = (state: number, extra: unknown[] = []): unknown[] => [state, 1, [record.id, record.name, "sim", "sim://ghost", [], {}, [], 0, 5, ...extra]];
    const answers: Array<[number, unknown]> = [
      [5, [1, [], [64]]],
      [5, [1, [], [-1]]],
      [5, [1, [], Array.from({ length: 65 }, () => 0)]],
      [5, [1, [wire(9)], []]],
      [5, [1, [[0, 1, wire(0)[2], 100]], []]], // an age on an alive entry
      [5, [1, [wire(0, ["x"])], []]],
      [7, [1, [[2, 1, wire(2)[2], -5]]]],
      [7, [1]],
    ];
    for (const [type, body] of answers) {
      cluster.sim.inject("sim://intruder", target.address, createSealer(key).seal(encodeBody([2, "sim", "intruder#1", type, body, []])));
    }
    cluster.clock.advance(100);
    assert.deepEqual(replies, [], "nothing answered a malformed datagram");
    assert.equal(target.membership.stats().dropped - dropped, bad.length + answers.length);
    assert.equal(JSON.stringify([...viewOf(target)].sort()), before);
    // A well-formed digest from the same place is answered: the shape was what mattered.
    const good: Packet = { cluster: "sim", sender: "intruder#1", body: { type: "push", join: false, seq: 1, digest: zeros }, gossip: [] };
    cluster.sim.inject("sim://intruder", target.address, createSealer(key).seal(encodePacket(good)));
    cluster.clock.advance(100);
    assert.deepEqual(replies, [target.address]);
    await cluster.close();
  });

  test("an answer nobody asked for is merged but never answered: no reflection of the view", async () => {
    const cluster = new SimCluster({ seed: 47 });
    assert.ok(cluster.grow(5) >= 0);
    cluster.clock.advance(2000);
    const target = cluster.nodes[2]!;
    const replies: Body[] = [];
    const seen = recordExchanges(cluster);
    const all = Array.from({ length: DIGEST_BUCKETS }, (_, i) => i);
    for (const seq of [0, 1, 12345, 2 ** 32 - 1]) {
      const forgedPull: Packet = { cluster: "sim", sender: "intruder#1", body: { type: "pull", seq, states: [], want: all }, gossip: [] };
      cluster.sim.inject("sim://intruder", target.address, createSealer().seal(encodePacket(forgedPull)));
    }
    cluster.clock.advance(100);
    replies.push(...seen.filter((d) => d.to === "sim://intruder").map((d) => d.body));
    assert.deepEqual(replies, []);
    await cluster.close();
  });
});
