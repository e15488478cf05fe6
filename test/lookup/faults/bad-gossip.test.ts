/**
 * Bad gossip over real UDP: malformed and oversized datagrams, stale news
 * claiming another member's identity, and duplicated, reordered replays of
 * datagrams captured from a real member. Each is refused or absorbed: no
 * member changes state, no record changes, every node keeps working.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { test, type TestContext } from "node:test";
import { Calculator } from "../../../examples/calculator/contract.ts";
import { connect } from "../../../src/index.ts";
import { createSealer } from "../../../src/lookup/membership/auth.ts";
import { encodePacket, type GossipEntry, type Packet, type StateEntry } from "../../../src/lookup/membership/codec.ts";
import {
  createMembership,
  createUdpTransport,
  FAST_MEMBERSHIP_CONFIG,
  parseUdpAddress,
  seededRandom,
  type GossipTransport,
  type MemberRecord,
  type Membership,
} from "../../../src/lookup/membership/index.ts";
import { encodeBody } from "../../../src/wire/index.ts";
import { CALM, describeView, Fixture, sleep, startCluster, waitFor, type Member, type MemberView } from "./harness.ts";

const plain = createSealer();


/** A real member in this process whose every sent datagram is kept, for replay. */
async function startCapturingMember(cluster: string, seed: string): Promise<{ membership: Membership; id: string; sent: Uint8Array[] }> {
  const udp = await createUdpTransport("udp://127.0.0.1:0");
  const sent: Uint8Array[] = [];
  const transport: GossipTransport = {
    address: udp.address,
    send(to, bytes) {
      if (sent.length < 5_000) sent.push(Uint8Array.from(bytes));
      udp.send(to, bytes);
    },
    onMessage: (handler) => udp.onMessage(handler),
    close: () => udp.close(),
  };
  const id = randomUUID();
  const membership = createMembership({
    self: { id, name: "capture", cluster, gossip: udp.address, addresses: [], labels: {}, services: [], load: 0 },
    transport,
    config: { ...FAST_MEMBERSHIP_CONFIG, ...CALM },
  });
  await membership.start([seed]);
  return { membership, id, sent };
}

async function openSocket(): Promise<Socket> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return socket;
}

function sendTo(socket: Socket, to: string, bytes: Uint8Array): Promise<void> {
  const { host, port } = parseUdpAddress(to);
  return new Promise((resolve) => socket.send(bytes, port, host, () => resolve()));
}

/** A forged packet, sealed the way an unkeyed cluster expects. */
function forge(cluster: string, sender: string, gossip: GossipEntry[], body: Packet["body"] = { type: "gossip" }): Uint8Array {
  return plain.seal(encodePacket({ cluster, sender, body, gossip }));
}

/** A record as a member's view reports it, made whole for forging. */
function recordOf(view: MemberView, cluster: string): MemberRecord {
  return {
    id: view.id,
    name: view.name,
    cluster,
    gossip: view.gossip,
    addresses: view.addresses,
    labels: view.labels,
    services: view.services,
    load: 0,
    started: view.started,
  };
}

/** Datagrams no decoder should accept. */
function malformed(cluster: string, captured: Uint8Array[], random: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
  out.push(new Uint8Array(0), Uint8Array.of(0x01), Uint8Array.of(0x02), Uint8Array.of(0xff));
  for (let i = 0; i < 100; i++) out.push(bytes(1 + Math.floor(random() * 1400)));
  for (let i = 0; i < 100; i++) out.push(plain.seal(bytes(1 + Math.floor(random() * 1400))));
  const sealed = (value: unknown): Uint8Array => plain.seal(encodeBody(value));
  out.push(
    sealed([2, cluster, "x", 0, [1, "x"], []]), // unknown version
    sealed([1, cluster, "x", 99, [], []]), // unknown type
    sealed([1, cluster, "x", 0, [1], []]), // ping without a target
    sealed([1, cluster, "x", 6, [], [[0, 1, ["only", "three", "fields"]]]]), // short record
    sealed([1, cluster, "x", 6, [], [[1, -1, "id", "from"]]]), // negative incarnation
    sealed([1, cluster, "x", 6, [], [[9, 1, "id"]]]), // unknown gossip kind
    sealed([1, cluster, "x".repeat(10_000), 6, [], []]), // sender too long
    sealed({ version: 1, cluster }), // a map, not an array
    sealed("just a string"),
  );
  // Arrays nested 20 000 deep (msgpack 0x91: an array of one item), a decoder's stack test.
  const deep = new Uint8Array(20_001).fill(0x91);
  deep[deep.length - 1] = 0x90;
  out.push(plain.seal(deep));
  // Real datagrams cut short, and with their first byte (how they are sealed) changed.
  // (A byte flipped elsewhere may leave a well-formed packet saying something
  // else, which no unkeyed cluster can tell from the truth: see the test of a
  // record that differs only in its id.)
  for (const datagram of captured.slice(0, 200)) {
    out.push(datagram.subarray(0, Math.floor(random() * datagram.length)));
    const resealed = Uint8Array.from(datagram);
    resealed[0] = 0x02;
    out.push(resealed);
  }
  return out;
}

/** State of every member each observer holds, to compare before and after. */
async function snapshot(members: Member[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const observer of members) {
    for (const m of await observer.members()) {
      out.set(`${observer.name} sees ${m.name}`, `${m.id} ${m.state} ${m.gossip} ${m.addresses.join(",")}`);
    }
  }
  return out;
}

// One cluster for both cases (process start-up is the slow part of these tests).
test("bad gossip over real UDP", async (t) => {
  const fixture = new Fixture(t, "badgossip");
  const members = await startCluster(fixture, "bg", 3, { membership: CALM });
  await t.test("malformed, oversized, stale and replayed datagrams are refused or absorbed: no member changes state, every node keeps working", (t) =>
    refusedOrAbsorbed(t, fixture, members),
  );
  await t.test("a record differing from a live member's only in its id (a forged or corrupted datagram) does not evict that member", (t) =>
    noGhost(t, fixture, members),
  );
});

async function refusedOrAbsorbed(t: TestContext, fixture: Fixture, members: Member[]): Promise<void> {
  const capture = await startCapturingMember(fixture.cluster, members[0]!.gossip);
  t.after(() => capture.membership.stop());
  const attacker = await openSocket();
  t.after(() => attacker.close());
  await waitFor(
    "every member to see the capturing member",
    async () => (await Promise.all(members.map((m) => m.members()))).every((view) => view.some((v) => v.id === capture.id && v.state === "alive")),
    5_000,
  );
  // Let it gossip a while: pings, acks, ping-reqs, gossip and push-pull to replay later.
  await sleep(1_500);
  const captured = capture.sent.slice();
  const before = await snapshot(members);
  const since = Date.now();
  const random = seededRandom(0x5eed);
  const cluster = fixture.cluster;
  const views = await members[0]!.members();
  const victim = views.find((v) => v.id === members[1]!.id)!;
  assert.ok(victim.incarnation >= 1, `the victim has raised its incarnation (serving raises it): ${victim.incarnation}`);

  // 1. Malformed.
  const junk = malformed(cluster, captured, random);
  // 2. Oversized: the largest UDP datagram, and an anti-entropy datagram of real shape over maxPushPullSize.
  const fakeStates: StateEntry[] = Array.from({ length: 400 }, (_, i) => ({
    state: "alive",
    incarnation: 1,
    record: { id: `big-${i}-${"p".repeat(100)}`, name: `big-${i}`, cluster, gossip: "udp://127.0.0.1:9", addresses: [], labels: {}, services: [], load: 0 },
  }));
  const oversizedPush = forge(cluster, "big-sender", [], { type: "sync", seq: 1, states: fakeStates });
  assert.ok(oversizedPush.length > FAST_MEMBERSHIP_CONFIG.maxPushPullSize + 33, `the forged push is oversized: ${oversizedPush.length}`);
  const oversized = [new Uint8Array(65_507).fill(0x01), oversizedPush];
  // 3. Stale news claiming the victim's identity: a hijacked record (our address
  //    as its gossip and RPC address) at old incarnations and at its current one,
  //    stale suspicions, deaths and leaves, anti-entropy records saying it is dead or left, and an
  //    older start under its name.
  const hijacked: MemberRecord = { ...recordOf(victim, cluster), gossip: `udp://127.0.0.1:${attacker.address().port}`, addresses: ["tcp://127.0.0.1:1"] };
  const staleIncarnations = [0, victim.incarnation - 1];
  const identity: Uint8Array[] = [];
  for (const incarnation of staleIncarnations) {
    identity.push(
      forge(cluster, victim.id, [{ kind: "alive", incarnation, record: hijacked }]),
      forge(cluster, "forger", [{ kind: "suspect", id: victim.id, incarnation, from: "forger" }]),
      forge(cluster, "forger", [{ kind: "dead", id: victim.id, incarnation, from: "forger" }]),
      forge(cluster, "forger", [{ kind: "left", id: victim.id, incarnation }]),
      forge(cluster, "forger", [], { type: "pull", seq: 1, states: [{ state: "dead", incarnation, record: hijacked }], want: [] }),
      forge(cluster, "forger", [], { type: "sync", seq: 1, states: [{ state: "left", incarnation, record: hijacked }] }),
    );
  }
  // Its current incarnation: an alive at an equal incarnation changes nothing.
  identity.push(forge(cluster, victim.id, [{ kind: "alive", incarnation: victim.incarnation, record: hijacked }]));
  // Another id under its name that started earlier: stale, never a replacement.
  identity.push(forge(cluster, "forger", [{ kind: "alive", incarnation: 99, record: { ...hijacked, id: randomUUID(), started: 1 } }]));

  // Paced (a pause every 20 datagrams), so that what is tested is the content, not a flood.
  const phases: string[] = [];
  let sent = 0;
  const send = async (to: string, datagram: Uint8Array): Promise<void> => {
    const done = sendTo(attacker, to, datagram);
    if (++sent % 20 === 0) {
      await done;
      await sleep(2);
    }
  };
  for (const [phase, datagrams] of [
    ["malformed", junk],
    ["oversized", oversized],
    ["identity", identity],
  ] as const) {
    phases.push(`${phase} at +${Date.now() - since} ms`);
    for (const member of members) for (const datagram of datagrams) await send(member.gossip, datagram);
  }
  // 4. Replays of the real member's datagrams: each twice, newest first, to every member.
  phases.push(`replay at +${Date.now() - since} ms`);
  for (const datagram of captured.slice().reverse()) {
    for (const member of members) {
      await send(member.gossip, datagram);
      await send(member.gossip, datagram);
    }
  }
  phases.push(`done at +${Date.now() - since} ms`);
  t.diagnostic(
    `sent to each member: ${junk.length} malformed, ${oversized.length} oversized, ${identity.length} stale identity claims, ` +
      `${captured.length * 2} replayed datagrams (${captured.length} captured); ${phases.join(", ")}`,
  );

  await sleep(1_000);
  const after = await snapshot(members);
  assert.deepEqual(Object.fromEntries(after), Object.fromEntries(before), "every view is what it was: same ids, states, addresses");
  for (const member of members) {
    const changes = (await member.changes()).filter((c) => c.at >= since);
    assert.deepEqual(
      changes.map((c) => `${c.name} ${c.type} ${c.state} at +${c.at - since} ms`),
      [],
      `${member.name} saw no member change (views: ${describeView(await member.members())})`,
    );
    const instances = await member.lookup();
    assert.ok(!instances.some((i) => i.addresses.includes("tcp://127.0.0.1:1")), `${member.name}'s look-up has no hijacked address`);
    // Still working: it serves calls.
    const peer = await connect(member.address);
    try {
      assert.equal(await peer.client(Calculator).add({ a: 20, b: 22 }, { timeout: 5_000 }), 42, `${member.name} still serves calls`);
    } finally {
      await peer.close();
    }
  }

  // The control: the same socket and sealing do reach the members — a well-formed
  // alive of a new member is taken in. So the refusals above were decisions.
  const newcomer: MemberRecord = { id: randomUUID(), name: "newcomer", cluster, gossip: "udp://127.0.0.1:9", addresses: [], labels: {}, services: [], load: 0 };
  await sendTo(attacker, members[0]!.gossip, forge(cluster, newcomer.id, [{ kind: "alive", incarnation: 1, record: newcomer }]));
  await waitFor("the control datagram to be taken in", async () => (await members[0]!.members()).some((m) => m.id === newcomer.id), 2_000);
}

async function noGhost(t: TestContext, fixture: Fixture, members: Member[]): Promise<void> {
  const attacker = await openSocket();
  t.after(() => attacker.close());
  const cluster = fixture.cluster;
  const victim = (await members[0]!.members()).find((v) => v.id === members[1]!.id)!;
  // The victim's own record (same name, same start, same addresses) under an id
  // that sorts after its own: what one flipped byte in a UUID can make.
  const ghost: MemberRecord = { ...recordOf(victim, cluster), id: `z${victim.id.slice(1)}` };
  const since = Date.now();
  await sendTo(attacker, members[0]!.gossip, forge(cluster, ghost.id, [{ kind: "alive", incarnation: 1, record: ghost }]));
  // A replacement by name is immediate; give the news time to spread.
  await sleep(1_500);
  for (const observer of [members[0]!, members[2]!]) {
    const view = await observer.members();
    const changes = (await observer.changes()).filter((c) => c.at >= since && c.id === victim.id);
    t.diagnostic(`${observer.name} sees ${describeView(view)}; changes about ${victim.name}: ${changes.map((c) => c.type).join(", ") || "none"}`);
    assert.ok(
      view.some((m) => m.id === victim.id && m.state === "alive"),
      `${observer.name} still lists the live ${victim.name} (${victim.id.slice(0, 8)}) alive, not replaced by a record it never sent: ${describeView(view)}`,
    );
    assert.ok((await observer.lookup()).some((i) => i.id === victim.id), `${observer.name}'s look-up still finds ${victim.name}`);
  }
}
