import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encodeFrame, FrameKind } from "../../src/wire/index.ts";
import { fixture, hostilePeer } from "./harness.ts";
import { header, waitUntil } from "./raw-peer.ts";

const KINDS = Object.values(FrameKind);

/** One thing a fuzzing peer sends after its handshake. */
const action = fc.oneof(
  // a well-formed frame of any kind with any JSON-like body
  fc
    .record({ kind: fc.constantFrom(...KINDS), id: fc.nat({ max: 40 }), body: fc.jsonValue({ maxDepth: 4 }) })
    .map(({ kind, id, body }) => encodeFrame(kind, id, body)),
  // a CALL that is close to valid
  fc
    .record({
      id: fc.nat({ max: 20 }).map((n) => 2 * n + 1),
      service: fc.constantFrom("calculator", "probe", "nosuch", "__proto__", ""),
      method: fc.constantFrom("add", "count", "sleep", "hold", "constructor", "toString", "__proto__"),
      version: fc.constantFrom(null, "^1.0.0", "1.2.0", "^2", "garbage"),
      timeout: fc.constantFrom(null, 0, 1, 50, 1_000),
      meta: fc.oneof(fc.constant(null), fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()))),
      input: fc.oneof(
        fc.record({ a: fc.double(), b: fc.double() }),
        fc.record({ to: fc.nat({ max: 200 }) }),
        fc.record({ ms: fc.nat({ max: 50 }) }),
        fc.jsonValue({ maxDepth: 3 }),
      ),
      credit: fc.oneof(fc.nat({ max: 100 }), fc.constant(-1)),
    })
    .map(({ id, service, method, version, timeout, meta, input, credit }) =>
      encodeFrame(FrameKind.Call, id, [service, method, version, timeout, meta, input, credit]),
    ),
  // a header with any length and kind
  fc
    .record({ kind: fc.integer({ min: 0, max: 255 }), length: fc.nat({ max: 0xffffffff }) })
    .map(({ kind, length }) => header(kind, 1, length)),
  // raw bytes
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);

describe("hostile peers: fuzzing a live node (time-boxed)", () => {
  test("random frame sequences after the handshake never crash the node nor disturb another client", async (t) => {
    const f = await fixture(t, { limits: { handshakeTimeout: 1_000 } });
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        runs++;
        const peer = await hostilePeer(t, f);
        try {
          for (const bytes of actions) peer.write(bytes);
          // Give the node a moment to answer or to refuse.
          await waitUntil(() => peer.closed, "", 30).catch(() => {});
          assert.equal(peer.decodeError, null, `the node sent bytes that do not decode: ${peer.decodeError?.message}`);
          await f.assertServing();
        } finally {
          peer.destroy();
          f.peers.delete(peer);
          await peer.whenClosed();
        }
      }),
      { numRuns: 300, interruptAfterTimeLimit: 5_000 },
    );
    assert.ok(runs > 0);
    await f.assertHealthy();
  });
});
