import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Packr } from "msgpackr";
import { encodeBody, encodeFrame, FrameKind } from "../../src/wire/index.ts";
import { assertRefused, fixture, hostilePeer } from "./harness.ts";
import { header, rawFrame, resultOf } from "./raw-peer.ts";

// msgpackr's own extensions (RegExp, Set, BigInt, …), which a hostile peer can send.
const exotic = new Packr({ moreTypes: true, structuredClone: false, useRecords: false });

/** An array nested `depth` levels deep, as msgpack. */
function nestedArrayBytes(depth: number): Buffer {
  const bytes = Buffer.alloc(depth + 1, 0x91);
  bytes[depth] = 0xc0;
  return bytes;
}

describe("hostile peers: malformed frames after the handshake", () => {
  test("a declared frame length over the limit is refused before its body arrives", async (t) => {
    const f = await fixture(t, { limits: { maxFrameSize: 64 * 1024 } });
    const peer = await hostilePeer(t, f);
    peer.write(header(FrameKind.Call, 1, 64 * 1024 - 4 + 1));
    const during = f.calc.add({ a: 4, b: 5 });
    await assertRefused(peer, /declared frame size 65537 bytes exceeds the limit of 65536/);
    assert.equal(await during, 9);
    await f.assertHealthy();
  });

  test("a declared frame length of 0xFFFFFFFF is refused, with body bytes streaming after it", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.write(header(FrameKind.Item, 1, 0xffffffff));
    // Keep sending body bytes: the node must not wait for (or buffer) them.
    const filler = Buffer.alloc(256 * 1024, 0xa1);
    for (let i = 0; i < 8 && !peer.closed; i++) peer.write(filler);
    await assertRefused(peer, /declared frame size 4294967299 bytes exceeds the limit of 4194304/);
    await f.assertHealthy();
  });

  test("a frame length below the minimum is refused", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.write(header(FrameKind.Ping, 0, 3));
    await assertRefused(peer, /below the 5-byte minimum/);
    await f.assertHealthy();
  });

  test("a truncated frame followed by a close leaves nothing behind", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    const frame = encodeFrame(FrameKind.Call, 1, ["calculator", "add", null, null, null, { a: 1, b: 2 }, 0]);
    peer.write(frame.subarray(0, frame.length - 3));
    const during = f.calc.add({ a: 6, b: 7 });
    peer.socket.end();
    await peer.whenClosed();
    assert.equal(await during, 13);
    assert.equal(
      peer.frames.some((received) => received.kind === FrameKind.Result),
      false,
      "the truncated call must not run",
    );
    await f.assertHealthy();
  });

  test("a truncated header followed by a close leaves nothing behind", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.write(Buffer.from([0, 0, 0]));
    peer.socket.end();
    await peer.whenClosed();
    await f.assertHealthy();
  });

  test("an unknown frame kind is refused", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.write(rawFrame(99, 1, encodeBody(null)));
    await assertRefused(peer, /unknown frame kind 99/);
    await f.assertHealthy();
  });

  for (const [name, bytes, message] of [
    ["truncated msgpack", [0x96, 0xaa, 0x63], /not valid msgpack/],
    ["two values in one body", [0x01, 0x02], /holds more than one value, expected 1/],
    ["an unknown msgpack extension", [0xd4, 0x05, 0x00], /not valid msgpack/],
    ["a string claiming 4 GiB", [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61], /not valid msgpack/],
  ] as const) {
    test(`a CALL body that does not decode (${name}) is refused`, async (t) => {
      const f = await fixture(t);
      const peer = await hostilePeer(t, f);
      peer.write(rawFrame(FrameKind.Call, 1, Buffer.from(bytes)));
      await assertRefused(peer, message);
      await f.assertHealthy();
    });
  }

  test("a body nested deeper than maxDepth is refused", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    const input = Buffer.concat([Buffer.from([0x81, 0xa1, 0x61]), nestedArrayBytes(200)]);
    const call = Buffer.concat([Buffer.from([0x97]), encodeBody("calculator"), encodeBody("add"), Buffer.from([0xc0, 0xc0, 0xc0]), input, encodeBody(0)]);
    peer.write(rawFrame(FrameKind.Call, 1, call));
    await assertRefused(peer, /body nests deeper than 64 levels/);
    await f.assertHealthy();
  });

  test("a body nested deep enough to overflow a stack is refused, and the node lives on", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.write(rawFrame(FrameKind.Item, 1, nestedArrayBytes(3 * 1024 * 1024)));
    await peer.waitForServerClose(10_000);
    const goAway = peer.goAway();
    assert.ok(goAway, "expected a GOAWAY");
    assert.match(goAway[1], /protocol error/);
    await f.assertHealthy();
  });

  for (const [name, value, typeName] of [
    ["a RegExp", /(a+)+$/, "RegExp"],
    ["an Error", new Error("boom"), "Error"],
    ["a Set", new Set([1, 2, 3]), "Set"],
    ["a Float64Array", new Float64Array([1, 2]), "Float64Array"],
    ["a BigInt too large for int64", 2n ** 70n, "bigint"],
  ] as const) {
    test(`a CALL input carrying ${name} is refused as an unsupported value`, async (t) => {
      const f = await fixture(t);
      const peer = await hostilePeer(t, f);
      const body = Buffer.concat([Buffer.from([0x97]), encodeBody("calculator"), encodeBody("add"), Buffer.from([0xc0, 0xc0, 0xc0]), exotic.pack({ a: value, b: 1 }), encodeBody(0)]);
      peer.write(rawFrame(FrameKind.Call, 1, body));
      await assertRefused(peer, new RegExp(`unsupported value type \\(${typeName}\\)`));
      assert.equal(
        peer.frames.some((frame) => frame.kind === FrameKind.Result),
        false,
      );
      await f.assertHealthy();
    });
  }

  test("a PING carrying a BigInt too large for msgpack's int64 does not crash the node", async (t) => {
    // The node echoes a PING's body in its PONG; encoding this value again would throw
    // inside the socket's data handler and take the whole process down.
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    const huge = Buffer.from([0xc7, 16, 0x42, ...new Array<number>(16).fill(0x7f)]);
    peer.write(rawFrame(FrameKind.Ping, 0, huge));
    await assertRefused(peer, /unsupported value type \(bigint\)/);
    await f.assertHealthy();
  });

  test("a PING is answered with a PONG carrying the same body (the echo the test above relies on)", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.send(FrameKind.Ping, 0, { nonce: 42, when: "now" });
    const pong = await peer.waitForFrame((frame) => frame.kind === FrameKind.Pong, "a PONG");
    assert.deepEqual(pong.body, { nonce: 42, when: "now" });
    await f.assertServing();
    peer.destroy();
    await f.assertHealthy();
  });

  for (const [name, kind, body, message] of [
    ["CREDIT of zero", FrameKind.Credit, 0, /CREDIT frame with an invalid amount/],
    ["negative CREDIT", FrameKind.Credit, -5, /CREDIT frame with an invalid amount/],
    ["fractional CREDIT", FrameKind.Credit, 1.5, /CREDIT frame with an invalid amount/],
    ["CREDIT over 2^20", FrameKind.Credit, 2 ** 21, /CREDIT frame with an invalid amount/],
    ["CREDIT as a string", FrameKind.Credit, "64", /CREDIT frame with an invalid amount/],
    ["an EVENT that is not [topic, payload]", FrameKind.Event, { topic: "x" }, /EVENT frame/],
    ["a SUBSCRIBE that is not a list of topics", FrameKind.Subscribe, [1, 2], /SUBSCRIBE frame/],
    ["an ANNOUNCE that is not a list of pairs", FrameKind.Announce, "calculator", /ANNOUNCE frame/],
  ] as const) {
    test(`${name} is refused`, async (t) => {
      const f = await fixture(t);
      const peer = await hostilePeer(t, f);
      peer.send(kind, 1, body);
      await assertRefused(peer, message);
      await f.assertHealthy();
    });
  }

  test("frames for calls that do not exist are ignored, and the connection stays usable", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.send(FrameKind.Item, 101, 1);
    peer.send(FrameKind.End, 101, null);
    peer.send(FrameKind.Cancel, 103, null);
    peer.send(FrameKind.Credit, 105, 10);
    peer.send(FrameKind.Result, 2, [1, null]);
    peer.send(FrameKind.Error, 4, [13, "x", null, "", "", "", 0, null]);
    peer.sendCall(7, "calculator", "add", { a: 40, b: 2 });
    const outcome = await peer.outcome(7);
    assert.equal(outcome.kind, FrameKind.Result);
    assert.deepEqual(resultOf(outcome.body), [42, null]);
    assert.equal(peer.closed, false);
    await f.assertServing();
    peer.destroy();
    await f.assertHealthy();
  });
});
