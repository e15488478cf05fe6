/**
 * The cluster key: a member with the wrong key (or none) cannot join — no
 * one ever lists it — and datagrams not sealed with the key change nothing.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createSocket } from "node:dgram";
import { test } from "node:test";
import { createSealer } from "../../../src/lookup/membership/auth.ts";
import { encodePacket, type GossipEntry, type Packet } from "../../../src/lookup/membership/codec.ts";
import { parseUdpAddress, type MemberRecord } from "../../../src/lookup/membership/index.ts";
import { CALM, describeChanges, describeView, Fixture, sleep, startCluster, waitFor } from "./harness.ts";

test("a member with the wrong cluster key cannot join, and cannot inject", async (t) => {
  const fixture = new Fixture(t, "key");
  const key = `right key ${process.pid}`;
  const members = await startCluster(fixture, "keyed", 3, { clusterKey: key, membership: CALM });
  const seeds = members.map((m) => m.gossip);
  const keyed = new Set(members.map((m) => m.id));
  const incarnations = new Map((await members[0]!.members()).map((m) => [m.id, m.incarnation]));
  const since = Date.now();
  const [wrongKey, noKey] = await Promise.all([
    fixture.start({ name: "wrong-key", seeds, clusterKey: `wrong key ${process.pid}`, membership: CALM }),
    fixture.start({ name: "no-key", seeds, membership: CALM }),
  ]);
  const intruders = [wrongKey, noKey];

  // Forged news, sealed wrongly: a new member, the death and leave of real ones
  // at incarnations far ahead, and a push claiming the whole view.
  const cluster = fixture.cluster;
  const victim = (await members[0]!.members()).find((m) => m.id === members[1]!.id)!;
  const fake: MemberRecord = { id: randomUUID(), name: "injected", cluster, gossip: "udp://127.0.0.1:9", addresses: ["tcp://127.0.0.1:1"], labels: {}, services: [["calculator", "1.2.0"]], load: 0 };
  const gossip: GossipEntry[] = [
    { kind: "alive", incarnation: 1, record: fake },
    { kind: "dead", id: victim.id, incarnation: victim.incarnation + 1_000, from: fake.id },
    { kind: "left", id: members[2]!.id, incarnation: 1_000_000 },
  ];
  const packets: Packet[] = [
    { cluster, sender: fake.id, body: { type: "gossip" }, gossip },
    { cluster, sender: fake.id, body: { type: "pull", seq: 1, states: [{ state: "alive", incarnation: 1, record: fake }], want: [] }, gossip: [] },
  ];
  const right = createSealer(key);
  const datagrams: Uint8Array[] = [];
  for (const packet of packets) {
    const message = encodePacket(packet);
    datagrams.push(createSealer().seal(message), createSealer("wrong").seal(message));
    // The right key's MAC of another message, and a right MAC with the message changed after sealing.
    const otherMac = right.seal(encodePacket({ ...packet, sender: "someone else" }));
    datagrams.push(Uint8Array.from([...otherMac.subarray(0, 33), ...message]));
    const tampered = Uint8Array.from(right.seal(message));
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0x01;
    datagrams.push(tampered);
  }
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  t.after(() => socket.close());
  const send = (to: string, bytes: Uint8Array): Promise<void> => {
    const { host, port } = parseUdpAddress(to);
    return new Promise((resolve) => socket.send(bytes, port, host, () => resolve()));
  };
  for (const member of members) for (const datagram of datagrams) await send(member.gossip, datagram);

  // Several join retries (every 500 ms) and probe rounds.
  await sleep(2_500);
  for (const member of members) {
    const view = await member.members();
    assert.deepEqual(
      view.map((m) => m.id).sort(),
      members.map((m) => m.id).sort(),
      `${member.name} lists the keyed members only: ${describeView(view)}`,
    );
    assert.ok(view.every((m) => m.state === "alive"), `${member.name} sees every keyed member alive: ${describeView(view)}`);
    // A forged death or leave taken in would show in the incarnations: the
    // victim refutes above the forged one, a member that left stays gone.
    for (const seen of view) {
      const before = incarnations.get(seen.id)!;
      assert.ok(seen.incarnation < before + 1_000, `${member.name} holds ${seen.name} at incarnation ${seen.incarnation} (was ${before}): no forged news was taken in`);
    }
    const changes = (await member.changes()).filter((c) => c.at >= since);
    assert.deepEqual(
      changes.filter((c) => !keyed.has(c.id)).map((c) => `${c.name} ${c.type} ${c.state}`),
      [],
      `${member.name}'s watch saw no intruder: ${describeChanges(changes, since)}`,
    );
    // A member slowed by a loaded machine may be suspected and refute it; said, not failed.
    if (changes.length > 0) t.diagnostic(`${member.name}'s watch saw ${describeChanges(changes, since)}`);
    assert.ok(!(await member.lookup()).some((i) => i.name === "injected" || intruders.some((x) => x.id === i.id)), `${member.name}'s look-up has no intruder`);
  }
  for (const intruder of intruders) {
    const view = await intruder.members();
    assert.deepEqual(view.map((m) => m.id), [intruder.id], `${intruder.name} sees only itself: ${describeView(view)}`);
  }

  // The control: the forged member sealed with the right key is taken in, so
  // the refusals above were the key's doing.
  await send(members[0]!.gossip, right.seal(encodePacket({ ...packets[0]!, gossip: [gossip[0]!] })));
  await waitFor("the rightly sealed control datagram to be taken in", async () => (await members[0]!.members()).some((m) => m.id === fake.id), 2_000);
});
