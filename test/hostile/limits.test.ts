/**
 * The node-wide limits at the wire, each against a scripted hostile peer
 * while a well-behaved caller's latency is measured: connections (per node
 * and per remote address), bytes buffered in partial frames, the time one
 * frame may take, and metadata refused before it is decoded.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, test } from "node:test";
import { budgetFor } from "../../src/transport/inbound-limits.ts";
import { parseAddress } from "../../src/transport/address.ts";
import { FrameKind } from "../../src/wire/index.ts";
import { startAttacker } from "./attacker.ts";
import { fixture, type Fixture } from "./harness.ts";
import { assertLatencyHeld, percentile, sampleLatency } from "./latency.ts";
import { header, RawPeer, Status, waitUntil } from "./raw-peer.ts";
import { hasCommand, makeCerts } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { startNode } from "../../src/index.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MiB = 1024 * 1024;

/** A raw peer dialing from `localAddress` (another loopback address is another remote host to the node). */
async function peerFrom(f: Fixture, localAddress: string): Promise<RawPeer> {
  const { host, port } = parseAddress(f.address) as { host: string; port: number };
  const socket = net.connect({ host, port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const peer = RawPeer.accepted(socket);
  f.peers.add(peer);
  peer.sendHello();
  return peer;
}

/** Waits until the peer got the node's HELLO (admitted) or was closed (refused); true when admitted. */
async function admitted(peer: RawPeer): Promise<boolean> {
  await waitUntil(() => peer.closed || peer.frames.some((frame) => frame.kind === FrameKind.Hello), "the node's HELLO or a close");
  return peer.frames.some((frame) => frame.kind === FrameKind.Hello);
}

describe("hostile peers: node-wide limits at the wire", () => {
  test("256 connections each withholding the last byte of a 4 MiB CALL: memory stays bounded and the caller is served", async (t) => {
    const f = await fixture(t);
    const limits = f.node.limits;
    const budget = budgetFor(limits);
    const quiet = await sampleLatency(f, { count: 300 });
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    let pendingPeak = 0;
    let connectionsPeak = 0;
    const meter = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      pendingPeak = Math.max(pendingPeak, budget.pendingBytes);
      connectionsPeak = Math.max(connectionsPeak, budget.connections);
    }, 20);
    const attacker = startAttacker({ kind: "withhold", address: f.address, connections: 256, declared: 4 * MiB });
    t.after(() => attacker.kill());
    let report;
    try {
      const attacked = await sampleLatency(f, { count: 300, until: attacker.done, maxMs: 90_000 });
      report = await attacker.done;
      assertLatencyHeld("256 × 4 MiB CALLs withheld", quiet, attacked);
    } finally {
      clearInterval(meter);
    }
    const grown = (rssPeak - rssBefore) / MiB;
    console.log(
      `# withheld frames: RSS ${(rssBefore / MiB).toFixed(0)} → peak ${(rssPeak / MiB).toFixed(0)} MiB (+${grown.toFixed(0)}); ` +
        `partial frames held at most ${(pendingPeak / MiB).toFixed(1)} MiB, ${connectionsPeak} connections open at most; attacker: ${report.accepted} admitted, closed by code ${JSON.stringify(report.closedBy)}`,
    );
    assert.ok(pendingPeak <= limits.maxPendingBytes + MiB, `partial frames held ${pendingPeak} bytes, over maxPendingBytes (${limits.maxPendingBytes})`);
    assert.ok(budget.pendingBytes <= limits.maxPendingBytes);
    // 256 × 4 MiB would be a gigabyte; the bound leaves room for the chunks read and not yet collected.
    assert.ok(grown < 320, `RSS grew by ${grown.toFixed(0)} MiB`);
    // The good client comes from the same address.
    assert.ok(connectionsPeak <= limits.maxConnectionsPerAddress, `${connectionsPeak} connections open at once from one address`);
    assert.ok((report.closedBy[String(Status.RESOURCE_EXHAUSTED)] ?? 0) >= 256 - 20, `closed: ${JSON.stringify(report.closedBy)}`);
    assert.ok(report.messages.some((m) => /maxPendingBytes/.test(m)), `messages: ${report.messages.join(" | ")}`);
    assert.ok(report.messages.some((m) => /maxConnectionsPerAddress/.test(m)), `messages: ${report.messages.join(" | ")}`);
    await attacker.kill();
    await f.assertHealthy();
    assert.equal(budget.pendingBytes, 0, "every partial frame's bytes are released once its connection closed");
  });

  test("20 CALLs with 300,000 metadata entries each are refused before the metadata is decoded", async (t) => {
    const f = await fixture(t);
    const quiet = await sampleLatency(f, { count: 300 });
    const attacker = startAttacker({ kind: "meta", address: f.address, calls: 20, entries: 300_000 });
    t.after(() => attacker.kill());
    const attacked = await sampleLatency(f, { count: 300, until: attacker.done, maxMs: 90_000 });
    const report = await attacker.done;
    assertLatencyHeld("20 CALLs with 300,000 metadata entries", quiet, attacked);
    const times = report.answers.map((answer) => answer.ms);
    console.log(`# 300,000-entry metadata: each CALL (2.9 MB) answered in median ${percentile(times, 50).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms, send included`);
    assert.equal(report.answers.length, 20);
    for (const answer of report.answers) {
      assert.equal(answer.code, Status.INVALID_ARGUMENT);
      assert.match(String(answer.message), /metadata must map strings to strings, within 8192 bytes and 128 entries/);
    }
    await attacker.kill();
    await f.assertHealthy();
  });

  test("a frame trickled a byte at a time is cut off at frameTimeout, however long the idle timeout", async (t) => {
    const f = await fixture(t, { limits: { frameTimeout: 400, idleTimeout: 0 } });
    const quiet = await sampleLatency(f, { count: 300 });
    const peer = await RawPeer.handshaken(f.address);
    f.peers.add(peer);
    const frame = Buffer.concat([header(FrameKind.Ping, 0, 64 * 1024 + 5), Buffer.alloc(64 * 1024, 0x01)]);
    const started = Date.now();
    const trickle = (async () => {
      for (let i = 0; i < frame.length && !peer.closed && Date.now() - started < 5_000; i++) {
        peer.write(frame.subarray(i, i + 1));
        await sleep(10);
      }
    })();
    const attacked = await sampleLatency(f, { count: 300, until: trickle, maxMs: 10_000 });
    await trickle;
    assertLatencyHeld("a trickled frame", quiet, attacked);
    assert.ok(peer.closed && peer.ended, "the node closed the trickling connection");
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3_000, `closed after ${elapsed} ms, frameTimeout is 400`);
    const goAway = peer.goAway();
    assert.equal(goAway?.[0], Status.RESOURCE_EXHAUSTED);
    assert.match(goAway?.[1] ?? "", /frame took over 400 ms to arrive \(frameTimeout\)/);
    await f.assertHealthy();
  });

  test("frames that arrive whole, one after another, are not cut off however long the connection lives", async (t) => {
    const f = await fixture(t, { limits: { frameTimeout: 200 } });
    const peer = await RawPeer.handshaken(f.address);
    f.peers.add(peer);
    // Each frame split in two writes 50 ms apart: every one arrives within the timeout; together they take far longer.
    for (let i = 0; i < 12; i++) {
      const ping = Buffer.concat([header(FrameKind.Ping, 0, 5 + 1), Buffer.from([i])]);
      peer.write(ping.subarray(0, 4));
      await sleep(50);
      peer.write(ping.subarray(4));
    }
    await waitUntil(() => peer.frames.filter((frame) => frame.kind === FrameKind.Pong).length === 12, "12 PONGs");
    assert.equal(peer.closed, false);
    peer.destroy();
    await f.assertHealthy();
  });

  test("connections past maxConnectionsPerAddress and maxConnections are refused with a GOAWAY that names the limit", async (t) => {
    const f = await fixture(t, { limits: { maxConnectionsPerAddress: 20, maxConnections: 40 } });
    const quiet = await sampleLatency(f, { count: 300 });
    // From 127.0.0.1, where the good client already holds one: 19 more fit.
    const flood = (async () => {
      const peers = await Promise.all(Array.from({ length: 30 }, () => peerFrom(f, "127.0.0.1")));
      return Promise.all(peers.map(async (peer) => [peer, await admitted(peer)] as const));
    })();
    const attacked = await sampleLatency(f, { count: 300, until: flood, maxMs: 20_000 });
    assertLatencyHeld("a flood of connections from one address", quiet, attacked);
    const outcomes = await flood;
    assert.equal(outcomes.filter(([, ok]) => ok).length, 19);
    for (const [peer] of outcomes.filter(([, ok]) => !ok)) {
      assert.equal(peer.goAway()?.[0], Status.RESOURCE_EXHAUSTED, peer.goAway()?.[1]);
      assert.match(peer.goAway()?.[1] ?? "", /127\.0\.0\.1 has 20 connections open to this node, the limit per address \(maxConnectionsPerAddress\)/);
    }
    // Another host still gets in, until the node as a whole is full.
    const others = await Promise.all(Array.from({ length: 20 }, () => peerFrom(f, "127.0.0.2")));
    assert.deepEqual(await Promise.all(others.map(admitted)), Array(20).fill(true));
    const late = await peerFrom(f, "127.0.0.3");
    assert.equal(await admitted(late), false);
    assert.match(late.goAway()?.[1] ?? "", /this node has 40 connections open, its limit \(maxConnections\)/);
    // A connection that closes frees its place.
    others[0]!.destroy();
    await waitUntil(() => budgetFor(f.node.limits).connections < 40, "a place to free up");
    assert.equal(await admitted(await peerFrom(f, "127.0.0.3")), true);
    await f.assertServing();
  });

  test("a dialer turned away at the connection limit gets a clear error and a warning line, not a hang", async (t) => {
    const f = await fixture(t, { limits: { maxConnections: 1 } });
    const { connect } = await import("../../src/index.ts");
    const warnings: string[] = [];
    await assert.rejects(
      connect(f.address, { logger: { debug() {}, info() {}, warn: (_obj: object, msg?: string) => void warnings.push(msg ?? ""), error() {} } }),
      (error: Error) => /RESOURCE_EXHAUSTED.*maxConnections/.test(error.message),
    );
    assert.ok(warnings.some((line) => /^the node at tcp:\/\/127\.0\.0\.1:\d+ refused the handshake: this node has 1 connections open, its limit \(maxConnections\)/.test(line)), warnings.join("\n"));
    await f.assertServing();
  });

  test("with TLS, connections are counted before the TLS handshake: a socket that never starts it still takes its place", async (t) => {
    if (!requireOrSkip(t, hasCommand("openssl"), "the openssl CLI is needed to make test certificates")) return;
    const certs = makeCerts();
    const node = await startNode({ listen: "tcp://127.0.0.1:0", tls: certs.server, limits: { maxConnections: 2 }, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    t.after(() => node.close({ timeout: 0 }));
    const { host, port } = parseAddress(node.addresses[0]!) as { host: string; port: number };
    const open = async (): Promise<net.Socket> => {
      const socket = net.connect({ host, port });
      socket.on("error", () => {});
      socket.resume();
      await new Promise((resolve) => socket.once("connect", resolve));
      t.after(() => socket.destroy());
      return socket;
    };
    const silent = [await open(), await open()];
    await waitUntil(() => budgetFor(node.limits).connections === 2, "two connections counted");
    const third = await open();
    await waitUntil(() => third.destroyed || third.readableEnded, "the third to be closed", 3_000);
    assert.equal(budgetFor(node.limits).connections, 2);
    for (const socket of silent) socket.destroy();
    await waitUntil(() => budgetFor(node.limits).connections === 0, "places freed once the sockets close");
  });
  test("one host's withheld frames are cut at its share (maxPendingBytesPerAddress); another host's, within the node's budget, are kept", async (t) => {
    const f = await fixture(t);
    const { maxPendingBytesPerAddress, maxPendingBytes } = f.node.limits;
    const budget = budgetFor(f.node.limits);
    /** Opens `count` connections from `from`, each sending all but the last byte of a 4 MiB CALL. */
    const withhold = async (from: string, count: number): Promise<RawPeer[]> => {
      const peers: RawPeer[] = [];
      for (let i = 0; i < count; i++) {
        const peer = await peerFrom(f, from);
        t.after(() => peer.destroy());
        assert.ok(await admitted(peer), `${from}: connection ${i} admitted`);
        // Within maxFrameSize; the declared length counts the kind and id (5 bytes) besides the body.
        const declared = 4 * MiB - 1024;
        peer.write(header(FrameKind.Call, 1, declared));
        peer.write(Buffer.alloc(declared - 5 - 1, 7));
        peers.push(peer);
      }
      return peers;
    };
    // The other host's two frames first, then eight from the greedy one: 32 MiB, twice its share.
    const modest = await withhold("127.0.0.3", 2);
    const greedy = await withhold("127.0.0.2", 8);
    await waitUntil(() => greedy.filter((peer) => peer.closed).length >= 4, "the greedy host's newest frames to be cut", 10_000);
    const cut = greedy.filter((peer) => peer.closed);
    for (const peer of cut) {
      assert.equal(peer.goAway()?.[0], Status.RESOURCE_EXHAUSTED, peer.goAway()?.[1]);
      assert.match(peer.goAway()?.[1] ?? "", /^127\.0\.0\.2 buffers over 16777216 bytes of incomplete frames on this node, the limit per address \(maxPendingBytesPerAddress\)/);
    }
    const held = greedy.length - cut.length;
    console.log(`# per-address share: ${cut.length} of 8 withheld 4 MiB frames from one host cut, ${held} held; the other host's 2 held; node holds ${(budget.pendingBytes / MiB).toFixed(1)} MiB`);
    assert.ok(held * (4 * MiB - 16 * 1024) <= maxPendingBytesPerAddress, `${held} frames of 4 MiB held from one host`);
    assert.ok(budget.pendingBytes < maxPendingBytes, "the node's budget was never the limit here");
    await sleep(200);
    assert.deepEqual(modest.map((peer) => peer.closed), [false, false], "the other host's frames are untouched");
    for (const peer of [...modest, ...greedy]) peer.destroy();
    await waitUntil(() => budget.pendingBytes === 0, "every partial frame's bytes released once the connections closed");
    // Sockets of the tests before may still be closing: the count of open sockets would judge them, not this one.
    await f.assertServing();
  });
});
