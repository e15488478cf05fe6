import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createSocket } from "node:dgram";
import { describe, test } from "node:test";
import {
  createMembership,
  createUdpTransport,
  detectionBound,
  FAST_MEMBERSHIP_CONFIG,
  type Membership,
  type MembershipEvent,
} from "../../../src/lookup/membership/index.ts";

interface UdpNode {
  id: string;
  membership: Membership;
  events: MembershipEvent[];
}

const KEY = "udp test key";

async function udpNode(name: string): Promise<UdpNode> {
  const transport = await createUdpTransport("udp://127.0.0.1:0");
  const id = `${name}#${randomUUID()}`;
  const membership = createMembership({
    self: { id, name, cluster: "udp", gossip: transport.address, addresses: [], labels: {}, services: [], load: 0 },
    transport,
    config: FAST_MEMBERSHIP_CONFIG,
    key: KEY,
  });
  const node: UdpNode = { id, membership, events: [] };
  membership.on((event) => node.events.push(event));
  return node;
}

/** Polls `done` every 10 ms; resolves with the ms it took, or -1 after `limitMs`. */
async function waitFor(done: () => boolean, limitMs: number): Promise<number> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > limitMs) return -1;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - start;
}

async function udpCluster(n: number): Promise<UdpNode[]> {
  const nodes: UdpNode[] = [];
  for (let i = 0; i < n; i++) nodes.push(await udpNode(`udp-${i}`));
  const seed = nodes[0]!.membership.self.record.gossip;
  await Promise.all(nodes.map((node, i) => node.membership.start(i === 0 ? [] : [seed])));
  const took = await waitFor(() => nodes.every((node) => node.membership.members().filter((m) => m.state === "alive").length === n), 5000);
  assert.ok(took >= 0, `${n} nodes over UDP did not converge within 5 s`);
  return nodes;
}

describe("membership over real UDP on 127.0.0.1", () => {
  test("the transport reports its real port, and drops what it cannot send", async () => {
    const transport = await createUdpTransport("udp://127.0.0.1:0");
    try {
      assert.match(transport.address, /^udp:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(transport.address, "udp://127.0.0.1:0");
      transport.send("not an address", new Uint8Array(1));
      transport.send("udp://127.0.0.1:9", new Uint8Array(70_000));
      assert.equal(transport.dropped, 2);
    } finally {
      await transport.close();
    }
    transport.send("udp://127.0.0.1:9", new Uint8Array(1));
    await assert.rejects(createUdpTransport("tcp://127.0.0.1:0"), RangeError);
  });

  test("four nodes join; a stopped one is marked dead by the others within the bound", async () => {
    const nodes = await udpCluster(4);
    try {
      const victim = nodes[2]!;
      const others = nodes.filter((node) => node !== victim);
      const bound = detectionBound(FAST_MEMBERSHIP_CONFIG, 4);
      await victim.membership.stop();
      const took = await waitFor(() => others.every((node) => node.membership.get(victim.id)?.state === "dead"), bound);
      assert.ok(took >= 0, `the others did not see the stopped node dead within ${bound} ms`);
      assert.ok(others.every((node) => node.events.every((e) => e.type !== "dead" || e.member.record.id === victim.id)));
    } finally {
      await Promise.all(nodes.map((node) => node.membership.stop()));
    }
  });

  test("a graceful leave over UDP is seen as left, and garbage datagrams are shrugged off", async () => {
    const nodes = await udpCluster(3);
    const garbage = createSocket("udp4");
    try {
      for (const node of nodes) {
        const port = Number(node.membership.self.record.gossip.split(":").pop());
        for (const bytes of [Buffer.from("hello"), Buffer.alloc(2000, 0x02), Buffer.alloc(1, 0x01)]) {
          await new Promise<void>((resolve) => garbage.send(bytes, port, "127.0.0.1", () => resolve()));
        }
      }
      const leaver = nodes[1]!;
      const others = nodes.filter((node) => node !== leaver);
      await leaver.membership.leave();
      const took = await waitFor(() => others.every((node) => node.membership.get(leaver.id)?.state === "left"), 1000);
      assert.ok(took >= 0, "the leave was not seen within 1 s of leave() returning");
      assert.ok(others.every((node) => node.events.every((e) => e.type !== "dead" && e.type !== "suspect")));
      assert.ok(others.every((node) => node.membership.stats().dropped >= 3));
    } finally {
      garbage.close();
      await Promise.all(nodes.map((node) => node.membership.stop()));
    }
  });
});
