import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { encodeFrame, FrameKind } from "../../src/wire/index.ts";
import { fixture, hostilePeer, within } from "./harness.ts";
import { header, RawPeer, waitUntil } from "./raw-peer.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` every `every` ms until it stays the same for `stableFor` ms; returns it. Fails after `timeout`. */
async function settle(read: () => number, what: string, { every = 50, stableFor = 400, timeout = 10_000 } = {}): Promise<number> {
  const started = Date.now();
  let last = read();
  let since = Date.now();
  while (Date.now() - started < timeout) {
    await sleep(every);
    const now = read();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= stableFor) {
      return now;
    }
  }
  throw new Error(`${what} kept changing for ${timeout} ms (last ${last})`);
}

describe("hostile peers: slow and stalled readers", () => {
  test("a reader that grants huge credit but stops reading does not make the node buffer without bound", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.socket.pause();
    peer.sendCall(1, "calculator", "count", { to: 1_000_000 }, { credit: 1 << 20 });
    for (let i = 0; i < 4; i++) peer.send(FrameKind.Credit, 1, 1 << 20);
    // How many items the kernel's socket buffers take first depends on the machine (a few MB
    // on loopback TCP); on a busy machine producing them takes a while, hence the long bound.
    const stalled = await settle(() => f.produced(), "the number of items produced", { stableFor: 500, timeout: 30_000 });
    // Each item is ~14 bytes on the wire: a million would be ~14 MB queued for a reader that reads nothing.
    assert.ok(stalled > 0, "the stream started");
    assert.ok(stalled < 1_000_000, `the node produced all ${stalled} items for a reader that reads nothing`);
    // Other callers are served meanwhile.
    await f.assertServing();
    await sleep(300);
    assert.equal(f.produced(), stalled, "production stays stopped");
    // Gone for good: the handler is stopped and the connection released.
    peer.destroy();
    await sleep(300);
    assert.equal(f.produced(), stalled, "the handler went on after the reader left");
    await f.assertHealthy();
  });

  test("over a Unix socket too, a stalled reader stops the stream, which resumes when it reads again", async (t) => {
    const f = await fixture(t);
    const pipes = () => process.getActiveResourcesInfo().filter((name) => name === "PipeWrap").length;
    const path = join(await mkdtemp(join(tmpdir(), "amoeba-hostile-")), "node.sock");
    t.after(() => rm(dirname(path), { recursive: true, force: true }));
    const address = await f.node.listen(`unix://${path}`);
    const pipesBefore = pipes();
    const peer = await RawPeer.handshaken(address);
    f.peers.add(peer);
    peer.socket.pause();
    peer.sendCall(1, "calculator", "count", { to: 1_000_000 }, { credit: 1 << 20 });
    const stalled = await settle(() => f.produced(), "the number of items produced", { stableFor: 500, timeout: 30_000 });
    assert.ok(stalled > 0 && stalled < 1_000_000, `produced ${stalled} items for a reader that reads nothing`);
    await f.assertServing();
    // Reading again resumes the stream: the stop was backpressure, not a failure.
    peer.socket.resume();
    await waitUntil(() => f.produced() > stalled, "the stream to resume once the reader reads", 15_000);
    assert.equal(peer.decodeError, null);
    assert.ok(peer.frames.some((frame) => frame.kind === FrameKind.Item && frame.id === 1));
    peer.destroy();
    await waitUntil(() => pipes() <= pipesBefore, `open Unix sockets to fall back to ${pipesBefore}`);
    const final = f.produced();
    await sleep(200);
    assert.equal(f.produced(), final, "the handler went on after the reader left");
    await f.assertHealthy();
  });

  test("a peer that sends PINGs but never reads the PONGs is cut off at the backlog limit", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.socket.pause();
    const ping = encodeFrame(FrameKind.Ping, 0, "p".repeat(4 * 1024 * 1024 - 64));
    const limit = f.baseline + 2;
    let sent = 0;
    const started = Date.now();
    // The node's side of this connection closes once its queue passes 64 MiB (plus what the kernel holds).
    while (f.sockets() >= limit && sent < 60 && Date.now() - started < 15_000) {
      if (peer.socket.writableLength < 16 * 1024 * 1024) {
        peer.write(ping);
        sent++;
      }
      await sleep(10);
    }
    assert.ok(f.sockets() < limit, `the node kept the connection after ${sent} PINGs of 4 MiB`);
    assert.ok(sent >= 16, `closed after only ${sent} PINGs: before the backlog limit`);
    await f.assertServing();
    peer.destroy();
    await f.assertHealthy();
  });

  test("a peer that trickles one frame a byte at a time is closed as idle", async (t) => {
    const f = await fixture(t, { limits: { idleTimeout: 300 } });
    const peer = await hostilePeer(t, f);
    const frame = Buffer.concat([header(FrameKind.Ping, 0, 1024 * 1024 + 5), Buffer.alloc(1024 * 1024, 0x01)]);
    const started = Date.now();
    for (let i = 0; i < frame.length && !peer.closed && Date.now() - started < 5_000; i++) {
      peer.write(frame.subarray(i, i + 1));
      await sleep(20);
    }
    assert.ok(peer.closed, "the trickling peer is still connected after 5 s");
    assert.ok(peer.ended, "the node closed the connection");
    await f.assertHealthy();
  });

  test("a connected peer that sends nothing more cannot keep the node from closing", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.socket.pause();
    await f.good.close();
    const closing = f.node.close({ timeout: 200 });
    try {
      // close() drains for up to 200 ms, then gives a socket that is not closed from the other side 2 s.
      await within(closing, 4_000, "node.close() with an idle raw peer connected");
    } finally {
      peer.destroy();
      await closing;
    }
  });
});
