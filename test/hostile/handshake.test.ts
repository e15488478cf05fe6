import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FrameKind } from "../../src/wire/index.ts";
import { assertRefused, fixture, hostilePeer } from "./harness.ts";
import { header, RawPeer, Status, waitUntil } from "./raw-peer.ts";

describe("hostile peers: before and during the handshake", () => {
  test("an HTTP request instead of a HELLO is refused with a GOAWAY and a close", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f, false);
    peer.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const during = f.calc.add({ a: 2, b: 3 });
    // "GET " read as a length is 0x47455420: far over the 4 MiB limit.
    await assertRefused(peer, /protocol error: declared frame size \d+ bytes exceeds the limit/);
    assert.equal(await during, 5);
    await f.assertHealthy();
  });

  test("garbage bytes that look like a small frame are refused on the unknown kind", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f, false);
    // length 12, kind 0x67 ('g'), then junk
    peer.write(Buffer.concat([Buffer.from([0, 0, 0, 12]), Buffer.from("garbage!!!!!")]));
    await assertRefused(peer, /unknown frame kind 103/);
    await f.assertHealthy();
  });

  test("a TLS ClientHello on the plain port is refused", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f, false);
    peer.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...new Array(32).fill(7)]));
    await assertRefused(peer, /exceeds the limit/);
    await f.assertHealthy();
  });

  test("a HELLO with another protocol version gets a GOAWAY naming both versions, then a close", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f, false);
    peer.sendHello({ v: 2 });
    await assertRefused(peer, /version 2\b.*version 1\b/, Status.FAILED_PRECONDITION);
    // The node introduced itself first, with its own version.
    const hello = peer.frames[0];
    assert.equal(hello?.kind, FrameKind.Hello);
    assert.equal((hello?.body as { v: number }).v, 1);
    await f.assertHealthy();
  });

  for (const [name, overrides] of [
    ["a non-numeric version", { v: "1" }],
    ["another protocol name", { proto: "http" }],
    ["no node identity", { node: null }],
    ["a node id that is not a string", { node: { id: 5, name: "x" } }],
    ["services that are not [name, version] pairs", { services: [["calculator"]] }],
    ["services as an object", { services: { calculator: "1.0.0" } }],
  ] as const) {
    test(`a HELLO with ${name} is refused`, async (t) => {
      const f = await fixture(t);
      const peer = await hostilePeer(t, f, false);
      peer.sendHello(overrides);
      await peer.waitForServerClose();
      const goAway = peer.goAway();
      assert.ok(goAway, "expected a GOAWAY");
      assert.equal(goAway[2], false);
      assert.match(goAway[1], /HELLO|version/);
      await f.assertHealthy();
    });
  }

  test("a HELLO whose body is not an object is refused", async (t) => {
    const f = await fixture(t);
    for (const body of [null, 1, "amoeba", ["amoeba", 1], undefined]) {
      const peer = await hostilePeer(t, f, false);
      peer.send(FrameKind.Hello, 0, body);
      await assertRefused(peer, /does not speak the amoeba protocol/);
    }
    await f.assertHealthy();
  });

  test("a CALL before the HELLO is refused", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f, false);
    peer.sendCall(1, "calculator", "add", { a: 1, b: 2 });
    await assertRefused(peer, /expected HELLO first, got frame kind 16/);
    assert.equal(
      peer.frames.some((frame) => frame.kind === FrameKind.Result),
      false,
      "the call must not run",
    );
    await f.assertHealthy();
  });

  test("before the handshake is over, a frame over maxHandshakeFrameSize is refused on its declared length", async (t) => {
    const f = await fixture(t);
    for (const before of ["nothing", "a HELLO too large"] as const) {
      const peer = await hostilePeer(t, f, false);
      // A 1 MiB CALL right away, or a HELLO of 300 KiB: either would be buffered and decoded once complete.
      if (before === "nothing") peer.write(header(FrameKind.Call, 1, 1024 * 1024));
      else peer.write(header(FrameKind.Hello, 0, 300 * 1024));
      const during = f.calc.add({ a: 2, b: 3 });
      await assertRefused(peer, /exceeds the limit of 262144 before the handshake is over/);
      assert.equal(await during, 5);
      assert.ok(peer.bytesReceived < 4096, "nothing but the GOAWAY came back");
    }
    await f.assertHealthy();
  });

  test("once the handshake is over, frames up to maxFrameSize are read again", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    // A 1 MiB input the contract refuses: an answer for the call, not a GOAWAY for its size.
    peer.sendCall(1, "calculator", "add", "x".repeat(1024 * 1024));
    const answer = await peer.waitForFrame((frame) => frame.kind === FrameKind.Error, "the call's ERROR");
    assert.equal((answer.body as unknown[])[0], Status.INVALID_ARGUMENT);
    assert.equal(peer.goAway(), undefined);
    peer.destroy();
    await f.assertHealthy();
  });

  test("a second HELLO on an established connection is refused", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.sendHello();
    await assertRefused(peer, /second HELLO/);
    await f.assertHealthy();
  });

  test("a peer that connects and sends nothing is closed after the handshake timeout", async (t) => {
    const f = await fixture(t, { limits: { handshakeTimeout: 200 } });
    const started = Date.now();
    const peer = await hostilePeer(t, f, false);
    // The good client keeps working while the silent peer waits.
    assert.equal(await f.calc.add({ a: 20, b: 22 }), 42);
    await assertRefused(peer, /no handshake within 200 ms/);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 150, `closed after ${elapsed} ms, before the timeout`);
    assert.ok(elapsed < 2_500, `closed only after ${elapsed} ms`);
    await f.assertHealthy();
  });

  test("a peer that sends half a HELLO and stalls is closed after the handshake timeout", async (t) => {
    const f = await fixture(t, { limits: { handshakeTimeout: 200 } });
    const peer = await hostilePeer(t, f, false);
    peer.write(header(FrameKind.Hello, 0, 200));
    peer.write(Buffer.from([0x85]));
    await assertRefused(peer, /no handshake within 200 ms/);
    await f.assertHealthy();
  });

  test("many silent peers at once are all closed, and nothing leaks", async (t) => {
    const f = await fixture(t, { limits: { handshakeTimeout: 200 } });
    const peers = await Promise.all(Array.from({ length: 40 }, () => hostilePeer(t, f, false)));
    assert.equal(await f.calc.add({ a: 1, b: 2 }), 3);
    await waitUntil(() => peers.every((peer) => peer.closed), "every silent peer to be closed");
    for (const peer of peers) assert.match(peer.goAway()?.[1] ?? "", /no handshake/);
    await f.assertHealthy();
  });

  test("a peer that closes in the middle of its HELLO leaves nothing behind", async (t) => {
    const f = await fixture(t);
    const peer = await RawPeer.connect(f.address);
    t.after(() => peer.destroy());
    peer.write(header(FrameKind.Hello, 0, 100));
    peer.socket.end();
    await peer.whenClosed();
    await f.assertHealthy();
  });
});
