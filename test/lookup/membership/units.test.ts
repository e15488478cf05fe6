import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createSealer } from "../../../src/lookup/membership/auth.ts";
import { decodePacket, encodePacket, type Packet } from "../../../src/lookup/membership/codec.ts";
import { BroadcastQueue } from "../../../src/lookup/membership/dissemination.ts";
import { Awareness, expectedConfirmations, Suspicion, suspicionTimeout } from "../../../src/lookup/membership/probe.ts";
import { bucketOf, DIGEST_BUCKETS, idHash } from "../../../src/lookup/membership/digest.ts";
import { MemberTable } from "../../../src/lookup/membership/state.ts";
import {
  DEFAULT_MEMBERSHIP_CONFIG,
  detectionBound,
  FAST_MEMBERSHIP_CONFIG,
  resolveConfig,
  retransmitLimit,
  seededRandom,
  SimClock,
  suspicionBounds,
  type MemberRecord,
} from "../../../src/lookup/membership/index.ts";
import { WireError } from "../../../src/wire/index.ts";

function record(id: string, name = id.split("#")[0]!, started = 1): MemberRecord {
  return { id, name, cluster: "c", gossip: `sim://${name}`, addresses: [], labels: {}, services: [], load: 0, started };
}

describe("member table precedence", () => {
  test("alive needs a higher incarnation; suspect, dead and left apply at equal or higher, in that order", () => {
    const table = new MemberTable(record("self#1"), 0);
    assert.deepEqual(table.applyAlive(record("a#1"), 3, 1).map((e) => e.type), ["join"]);
    assert.deepEqual(table.applyAlive({ ...record("a#1"), load: 9 }, 3, 2), [], "equal incarnation changes nothing");
    assert.deepEqual(table.applyAlive({ ...record("a#1"), load: 9 }, 2, 2), [], "stale");
    assert.deepEqual(table.applySuspect("a#1", 2, 3), [], "stale suspicion");
    assert.deepEqual((table.applySuspect("a#1", 3, 3) as unknown[]).length, 1);
    assert.equal(table.applySuspect("a#1", 3, 3), "confirm");
    assert.deepEqual(table.applyAlive(record("a#1"), 3, 4), [], "a suspicion is only lifted by a higher incarnation");
    assert.deepEqual(table.applyDead("a#1", 3, 5).map((e) => e.type), ["dead"]);
    assert.deepEqual(table.applySuspect("a#1", 3, 6), [], "dead is stronger than suspect");
    assert.deepEqual(table.applyLeft("a#1", 3, 7).map((e) => e.type), ["left"]);
    assert.deepEqual(table.applyDead("a#1", 3, 8), [], "left is stronger than dead");
    assert.deepEqual(table.applyAlive({ ...record("a#1"), load: 1 }, 4, 9).map((e) => e.type), ["alive"]);
    assert.deepEqual(table.applyAlive({ ...record("a#1"), load: 2 }, 5, 10).map((e) => e.type), ["update"]);
    assert.deepEqual(table.applyAlive({ ...record("a#1"), load: 2 }, 6, 11), [], "a bare refutation is no update");
    assert.equal(table.get("a#1")?.incarnation, 6);
    assert.deepEqual(table.applyDead("unknown#1", 9, 12), [], "news of strangers other than alive is ignored");
  });

  test("news about self is never applied by the table", () => {
    const table = new MemberTable(record("self#1"), 0);
    assert.deepEqual(table.applyAlive({ ...record("self#1"), load: 5 }, 10, 1), []);
    assert.deepEqual(table.applyDead("self#1", 10, 1), []);
    assert.equal(table.self.state, "alive");
    assert.equal(table.self.incarnation, 0);
  });

  test("a newer id under a name replaces the older one for good; an older id is ignored", () => {
    const table = new MemberTable(record("self#1"), 0);
    table.applyAlive(record("web#1", "web", 10), 0, 1);
    const events = table.applyAlive(record("web#2", "web", 20), 0, 2);
    assert.deepEqual(events.map((e) => [e.type, e.member.record.id]), [["left", "web#1"], ["join", "web#2"]]);
    assert.equal(table.get("web#1"), undefined);
    assert.deepEqual(table.applyAlive(record("web#1", "web", 10), 99, 3), [], "the replaced id never returns");
    assert.deepEqual(table.applyAlive(record("web#0", "web", 5), 0, 3), [], "an older start is stale");
    assert.deepEqual(table.applyAlive(record("impostor#9", "self", 99), 0, 3), [], "our own name is not given away");
    assert.deepEqual(table.applyAlive(record("web#9", "web", 20), 0, 3), [], "the same start never evicts a live member");
    table.applyDead("web#2", 0, 4);
    assert.deepEqual(table.applyAlive(record("web#9", "web", 20), 0, 5).map((e) => e.type), ["join"], "…but may take over a dead one's name");
    assert.deepEqual(table.members().map((m) => m.record.id).sort(), ["self#1", "web#9"]);
  });

  test("reap forgets dead, left and replaced members after the interval, never the living", () => {
    const table = new MemberTable(record("self#1"), 0);
    table.applyAlive(record("a#1"), 0, 0);
    table.applyAlive(record("b#1"), 0, 0);
    table.applyDead("a#1", 0, 100);
    assert.deepEqual(table.reap(150, 100), []);
    assert.deepEqual(table.reap(200, 100), ["a#1"]);
    assert.deepEqual(table.reap(10_000, 100), []);
    assert.equal(table.get("b#1")?.state, "alive");
  });

  test("the digest: the same members at the same versions give the same digest, whatever the order; suspicion does not count", () => {
    const a = new MemberTable(record("self#1"), 0);
    const b = new MemberTable(record("other#1"), 0);
    b.applyAlive(record("self#1"), 0, 0);
    a.applyAlive(record("other#1"), 0, 0);
    for (const id of ["x#1", "y#1", "z#1"]) a.applyAlive(record(id), 2, 1);
    for (const id of ["z#1", "x#1", "y#1"]) b.applyAlive(record(id), 2, 5);
    assert.deepEqual(a.digest(), b.digest(), "order and timestamps do not count");
    assert.deepEqual(a.differingBuckets(b.digest()), []);
    assert.equal(a.digest().length, DIGEST_BUCKETS);
    a.applySuspect("x#1", 2, 9);
    assert.deepEqual(a.differingBuckets(b.digest()), [], "a suspicion is transient: not in the digest");
    a.applyDead("x#1", 2, 10);
    const bucket = bucketOf(idHash("x#1"));
    assert.deepEqual(a.differingBuckets(b.digest()), [bucket], "a death is");
    assert.deepEqual(a.inBuckets(new Set([bucket])).map((m) => m.record.id).filter((id) => id === "x#1"), ["x#1"]);
    b.applyDead("x#1", 2, 11);
    assert.deepEqual(a.differingBuckets(b.digest()), []);
    b.applyAlive({ ...record("y#1"), load: 3 }, 3, 12);
    assert.deepEqual(a.differingBuckets(b.digest()), [bucketOf(idHash("y#1"))], "a new incarnation is");
    // Reaped everywhere: equal again.
    a.reap(10_000, 100);
    b.reap(10_000, 100);
    a.applyAlive({ ...record("y#1"), load: 3 }, 3, 12);
    assert.deepEqual(a.differingBuckets(b.digest()), []);
  });

  test("counts, ready lists and picks follow every change", () => {
    const table = new MemberTable(record("self#1"), 0);
    for (let i = 0; i < 50; i++) table.applyAlive(record(`m${i}#1`), 0, 0);
    assert.equal(table.activeCount(), 51);
    table.applySuspect("m1#1", 0, 1);
    table.applyDead("m2#1", 0, 1);
    table.applyLeft("m3#1", 0, 1);
    assert.deepEqual([table.count("alive"), table.count("suspect"), table.count("dead")], [47, 1, 1]);
    assert.equal(table.activeCount(), 49);
    assert.equal(table.activeIds().length, 48);
    const random = seededRandom(3);
    for (let round = 0; round < 50; round++) {
      const picked = table.pick(["alive"], 3, random, "m4#1");
      assert.equal(picked.length, 3);
      assert.equal(new Set(picked.map((m) => m.record.id)).size, 3);
      for (const m of picked) assert.ok(m.state === "alive" && m.record.id !== "m4#1" && m.record.id !== "self#1");
    }
    assert.deepEqual(table.pick(["dead"], 3, random).map((m) => m.record.id), ["m2#1"]);
    assert.deepEqual(table.reap(1000, 100).sort(), ["m2#1", "m3#1"]);
    assert.equal(table.members().length, 49);
    assert.equal(table.count("dead"), 0);
  });

  test("revive: only a suspect or dead member at exactly its incarnation, never a left or replaced one", () => {
    const table = new MemberTable(record("self#1"), 0);
    for (const id of ["s#1", "d#1", "l#1", "a#1"]) table.applyAlive(record(id), 2, 0);
    table.applySuspect("s#1", 2, 1);
    table.applyDead("d#1", 2, 1);
    table.applyLeft("l#1", 2, 1);
    const digestDead = table.digest();
    assert.deepEqual(table.revive("s#1", 1, 2), [], "stale incarnation");
    assert.deepEqual(table.revive("s#1", 3, 2), [], "an incarnation it was never held at");
    assert.deepEqual(table.revive("s#1", 2, 2).map((e) => [e.type, e.member.state, e.member.incarnation]), [["alive", "alive", 2]]);
    assert.deepEqual(table.revive("d#1", 2, 3).map((e) => e.type), ["alive"]);
    assert.notDeepEqual(table.digest(), digestDead, "the digest follows the revival");
    assert.deepEqual(table.revive("l#1", 2, 3), [], "a leave is final");
    assert.deepEqual(table.revive("a#1", 2, 3), [], "already alive");
    assert.deepEqual(table.revive("self#1", 0, 3), []);
    assert.deepEqual([table.count("alive"), table.count("suspect"), table.count("dead"), table.activeCount()], [3, 0, 0, 4]);
    // A dead member revived is alive again for every rule that follows.
    assert.equal(table.applySuspect("d#1", 2, 4) !== "confirm", true);
    assert.equal(table.get("d#1")?.state, "suspect");
  });

  test("a newcomer's table lists a member learned dead, with its age; not one it knows", () => {
    const table = new MemberTable(record("self#1"), 0);
    assert.deepEqual(table.applyEnded(record("gone#1"), "dead", 4, 500).map((e) => e.type), ["dead"]);
    assert.equal(table.get("gone#1")?.since, 500);
    assert.deepEqual(table.applyEnded(record("gone#1"), "left", 9, 600), [], "known: news of it goes the usual way");
    assert.equal(table.activeCount(), 1);
    assert.deepEqual(table.reap(600, 100), ["gone#1"]);
  });

  test("records are shared: equal records from two tables are one object", () => {
    const a = new MemberTable(record("self#1"), 0);
    const b = new MemberTable(record("self#2"), 0);
    a.applyAlive({ ...record("s#1"), labels: { k: "v" } }, 1, 0);
    b.applyAlive({ ...record("s#1"), labels: { k: "v" } }, 1, 0);
    assert.equal(a.get("s#1")!.record, b.get("s#1")!.record);
    b.applyAlive({ ...record("s#1"), labels: { k: "w" } }, 2, 0);
    assert.notEqual(a.get("s#1")!.record, b.get("s#1")!.record);
    assert.equal(a.get("s#1")!.record.labels.k, "v");
  });

  test("records handed out are frozen", () => {
    const table = new MemberTable(record("self#1"), 0);
    table.applyAlive({ ...record("a#1"), labels: { zone: "a" }, services: [["x", "1"]] }, 0, 0);
    const member = table.get("a#1")!;
    assert.throws(() => ((member.record.labels as Record<string, string>).zone = "b"));
    assert.throws(() => (member.record.services as unknown[]).push(["y", "2"]));
  });
});

describe("codec and sealing", () => {
  const packet: Packet = {
    cluster: "c",
    sender: "a#1",
    body: {
      type: "pull",
      seq: 7,
      states: [
        { state: "suspect", incarnation: 4, record: { ...record("b#1"), labels: { zone: "z" }, services: [["calc", "1.2.0"]], load: 1.5 } },
        { state: "dead", incarnation: 2, record: record("g#1"), age: 1234 },
      ],
      want: [0, 5, 63],
    },
    gossip: [
      { kind: "alive", incarnation: 1, record: record("c#1") },
      { kind: "suspect", id: "d#1", incarnation: 2, from: "a#1" },
      { kind: "dead", id: "e#1", incarnation: 3, from: "b#1" },
      { kind: "left", id: "f#1", incarnation: 0 },
    ],
  };

  test("a packet survives encoding, sealing and opening", () => {
    for (const key of [undefined, "k"]) {
      const sealer = createSealer(key);
      const opened = sealer.open(sealer.seal(encodePacket(packet)));
      assert.ok(opened);
      assert.deepEqual(decodePacket(opened), packet);
    }
  });

  test("a keyed sealer refuses plain datagrams, other keys and flipped bits; a plain one refuses keyed ones", () => {
    const bytes = encodePacket(packet);
    const keyed = createSealer("k").seal(bytes);
    assert.equal(createSealer("other").open(keyed), null);
    assert.equal(createSealer("k").open(createSealer().seal(bytes)), null);
    assert.equal(createSealer().open(keyed), null);
    for (const at of [0, 1, 20, 33, keyed.length - 1]) {
      const flipped = Uint8Array.from(keyed);
      flipped[at]! ^= 0x40;
      assert.equal(createSealer("k").open(flipped), null, `bit flipped at ${at}`);
    }
    assert.throws(() => createSealer(""), RangeError);
  });

  test("out-of-bounds fields are refused with a WireError", () => {
    const bad: unknown[] = [
      { ...packet, sender: "x".repeat(200) },
      { ...packet, gossip: Array.from({ length: 300 }, () => ({ kind: "left", id: "f#1", incarnation: 0 })) },
      { ...packet, gossip: [{ kind: "alive", incarnation: 1, record: { ...record("c#1"), load: Number.NaN } }] },
      { ...packet, gossip: [{ kind: "alive", incarnation: -1, record: record("c#1") }] },
      { ...packet, gossip: [{ kind: "alive", incarnation: 1, record: { ...record("c#1"), id: "" } }] },
      { ...packet, body: { type: "ack", seq: 2 ** 53 } },
    ];
    for (const value of bad) {
      let bytes: Uint8Array;
      try {
        bytes = encodePacket(value as Packet);
      } catch {
        continue; // not even encodable: nothing a peer could send
      }
      assert.throws(() => decodePacket(bytes), WireError);
    }
  });

  test("fuzz: any bytes decode to a packet or a WireError, never anything else", () => {
    const valid = encodePacket(packet);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(valid.length), fc.nat(255), (noise, at, value) => {
        for (const bytes of [noise, Uint8Array.from(valid).fill(value, at, at + 1), valid.subarray(0, at)]) {
          try {
            decodePacket(bytes);
          } catch (error) {
            if (!(error instanceof WireError)) throw error;
          }
        }
      }),
      { numRuns: 3000, interruptAfterTimeLimit: 3000 },
    );
  });
});

describe("probe, suspicion and dissemination pieces", () => {
  test("the suspicion timeout shrinks from max to min with confirmations", () => {
    const { min, max } = suspicionBounds({ ...DEFAULT_MEMBERSHIP_CONFIG, suspicionMultiplier: 4, probeInterval: 1000 }, 50);
    assert.equal(Math.round(min), Math.round(4 * Math.log10(50) * 1000));
    assert.equal(max, 6 * min);
    const k = expectedConfirmations(4, 50);
    assert.equal(k, 2);
    const timeouts = [0, 1, 2, 3].map((c) => suspicionTimeout(min, max, k, c));
    assert.equal(timeouts[0], Math.floor(max));
    assert.ok(timeouts[1]! < timeouts[0]! && timeouts[1]! > min);
    assert.equal(timeouts[2], min);
    assert.equal(timeouts[3], min);
    assert.equal(expectedConfirmations(4, 3), 0, "too few members to confirm");
    assert.equal(suspicionTimeout(min, max, 0, 0), min);
  });

  test("a suspicion fires at max alone, sooner with confirmations, never twice", () => {
    const clock = new SimClock();
    let fired = 0;
    const alone = new Suspicion(clock, { min: 100, max: 600, expected: 2, from: "a", onTimeout: () => fired++ });
    clock.advance(599);
    assert.equal(fired, 0);
    clock.advance(1);
    assert.equal(fired, 1);
    alone.cancel();
    const confirmed = new Suspicion(clock, { min: 100, max: 600, expected: 2, from: "a", onTimeout: () => fired++ });
    clock.advance(150);
    assert.equal(confirmed.confirm("a"), false, "the accuser does not confirm itself");
    assert.equal(confirmed.confirm("b"), true);
    assert.equal(confirmed.confirm("b"), false);
    assert.equal(confirmed.confirm("c"), true);
    clock.advance(0);
    assert.equal(fired, 2, "past min with all confirmations: fires at once");
    clock.advance(10_000);
    assert.equal(fired, 2);
  });

  test("the default suspicion: 1.5 s at 8 members, 2.7 s at 64, one confirmation reaches it", () => {
    assert.equal(suspicionBounds(DEFAULT_MEMBERSHIP_CONFIG, 8).min, 1500);
    assert.ok(Math.abs(suspicionBounds(DEFAULT_MEMBERSHIP_CONFIG, 64).min - 2709) < 1);
    assert.equal(expectedConfirmations(DEFAULT_MEMBERSHIP_CONFIG.suspicionMultiplier, 64), 1);
    // Typical detection (a round to be probed, a round for the probe to fail, the
    // shortest suspicion, the death gossiped) stays within 5 s up to 100 members.
    for (const n of [8, 16, 32, 64, 100]) {
      const c = DEFAULT_MEMBERSHIP_CONFIG;
      const typical = 2 * c.probeInterval + suspicionBounds(c, n).min + Math.ceil(Math.log(n) / Math.log(c.gossipNodes)) * c.gossipInterval;
      assert.ok(typical <= 5000, `n=${n}: ${typical} ms`);
    }
  });

  test("awareness stays within [0, max − 1]", () => {
    const awareness = new Awareness(8);
    awareness.apply(-3);
    assert.equal(awareness.multiplier, 1);
    awareness.apply(100);
    assert.equal(awareness.score, 7);
    assert.equal(awareness.multiplier, 8);
  });

  test("the broadcast queue sends each item `limit` times, least sent first, within the budget", () => {
    const queue = new BroadcastQueue();
    let done = 0;
    queue.push("a", { kind: "left", id: "a", incarnation: 0 }, () => done++);
    queue.push("b", { kind: "left", id: "b", incarnation: 0 });
    assert.deepEqual(queue.take(1000, 2).map((e) => (e as { id: string }).id), ["a", "b"]);
    queue.push("a", { kind: "left", id: "a", incarnation: 1 }); // replaces: the old one is done
    assert.equal(done, 1);
    assert.deepEqual(queue.take(1000, 2).map((e) => (e as { id: string }).id), ["a", "b"]);
    assert.equal(queue.size, 1);
    assert.deepEqual(queue.take(3, 2), [], "nothing fits in 3 bytes");
    assert.equal(queue.take(1000, 2).length, 1);
    assert.equal(queue.size, 0);
  });

  test("the broadcast queue holds at most its limit, dropping the most sent first; drop forgets one member's news", () => {
    const queue = new BroadcastQueue(3);
    const done: string[] = [];
    const push = (id: string) => queue.push(id, { kind: "left", id, incarnation: 0 }, () => done.push(id));
    push("a");
    push("b");
    queue.take(1000, 10); // a and b sent once
    push("c");
    push("d"); // over the limit: a, sent and oldest, goes
    assert.deepEqual(done, ["a"]);
    assert.equal(queue.size, 3);
    assert.deepEqual(queue.take(1000, 10).map((e) => (e as { id: string }).id), ["c", "d", "b"], "least sent first");
    queue.drop("c");
    queue.drop("unknown");
    assert.deepEqual(done, ["a", "c"]);
    assert.deepEqual(queue.take(1000, 10).map((e) => (e as { id: string }).id).sort(), ["b", "d"]);
  });

  test("config: defaults, fast preset, bounds and refusals", () => {
    assert.equal(resolveConfig().probeInterval, 500);
    assert.equal(FAST_MEMBERSHIP_CONFIG.probeInterval * 5, DEFAULT_MEMBERSHIP_CONFIG.probeInterval);
    assert.equal(FAST_MEMBERSHIP_CONFIG.gossipInterval * 5, DEFAULT_MEMBERSHIP_CONFIG.gossipInterval);
    assert.equal(retransmitLimit(DEFAULT_MEMBERSHIP_CONFIG, 50), 8);
    // The floor: 4 × ceil(log10(n + 1)) is 4 below 10 members, yet every broadcast goes out 8 times.
    assert.equal(retransmitLimit(DEFAULT_MEMBERSHIP_CONFIG, 3), 8);
    assert.equal(retransmitLimit(DEFAULT_MEMBERSHIP_CONFIG, 1000), 16);
    assert.equal(retransmitLimit({ ...DEFAULT_MEMBERSHIP_CONFIG, retransmitMin: 0 }, 3), 4);
    // 2(n − 1)·probeInterval + 6 × 3 × 0.5 s + 2 × 8 × 100 ms.
    assert.equal(detectionBound(DEFAULT_MEMBERSHIP_CONFIG, 5), 14_600);
    assert.throws(() => resolveConfig({ probeTimeout: 2000 }), RangeError);
    assert.throws(() => resolveConfig({ gossipInterval: Number.NaN }), RangeError);
    assert.throws(() => resolveConfig({ maxPushPullSize: 100_000 }), RangeError);
  });
});
