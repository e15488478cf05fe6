import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  DEFAULT_WIRE_LIMITS,
  decodeBody,
  encodeBody,
  encodeFrame,
  FrameDecoder,
  FrameKind,
  HEADER_SIZE,
  WireError,
  type Frame,
  type WireLimits,
} from "../../src/wire/index.ts";

// Each property stops after this long even if it has runs left: the suite stays fast.
const TIME_BOX = 3_000;
const RUN = { numRuns: 5_000, interruptAfterTimeLimit: TIME_BOX } as const;

const KINDS = Object.values(FrameKind);
const SMALL: WireLimits = { ...DEFAULT_WIRE_LIMITS, maxFrameSize: 4096, maxDepth: 16 };

/** Runs `feed`; it may only succeed or throw a WireError. */
function onlyWireErrors(feed: () => void): void {
  try {
    feed();
  } catch (error) {
    if (!(error instanceof WireError)) {
      throw new Error(`threw ${(error as Error)?.name ?? typeof error} instead of a WireError: ${String(error)}`, { cause: error });
    }
  }
}

/**
 * Decodes `bytes` as a body: either a WireError, or a value that encodes again
 * (a node echoes some bodies back, e.g. a PING's in its PONG).
 */
function decodeThenEncode(bytes: Uint8Array): void {
  let value: unknown;
  try {
    value = decodeBody(bytes, SMALL.maxDepth);
  } catch (error) {
    if (error instanceof WireError) return;
    throw new Error(`threw ${(error as Error)?.name ?? typeof error} instead of a WireError: ${String(error)}`, { cause: error });
  }
  encodeBody(value);
}

/** Cuts `bytes` at the given fractions (0..1) into consecutive chunks. */
function chunk(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => Math.floor(cut * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    out.push(bytes.subarray(start, point));
    start = point;
  }
  out.push(bytes.subarray(start));
  return out;
}

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

/** A frame header with a kind that is often known and a length that is often right. */
const frameBytes = fc
  .record({
    kind: fc.oneof(fc.constantFrom(...KINDS), fc.integer({ min: 0, max: 255 })),
    id: fc.nat({ max: 0xffffffff }),
    body: fc.uint8Array({ maxLength: 128 }),
    lengthDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -20, max: 20 }) }),
    hugeLength: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) }),
  })
  .map(({ kind, id, body, lengthDelta, hugeLength }) => {
    const out = Buffer.alloc(HEADER_SIZE + body.length);
    const length = hugeLength ?? Math.max(0, body.length + 5 + lengthDelta);
    out.writeUInt32BE(length >>> 0, 0);
    out[4] = kind;
    out.writeUInt32BE(id, 5);
    out.set(body, HEADER_SIZE);
    return out;
  });

/**
 * JSON-like values. The decoder renames a "__proto__" key to "__proto_"
 * (msgpackr's guard against prototype pollution), so such keys are left out here.
 */
const jsonLike = fc.jsonValue({ maxDepth: 8 }).filter((value) => !JSON.stringify(value).includes('"__proto__"'));

/** What a JSON-like value becomes after a trip through JSON (-0 → 0), to compare against. */
function normal(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

describe("decoder fuzzing (time-boxed)", () => {
  test("arbitrary bytes as a body: a WireError or a value that encodes again, never anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        decodeThenEncode(bytes);
      }),
      RUN,
    );
  });

  test("well-formed msgpack with random extension values inside: a WireError or a value that encodes again", () => {
    // Every extension type msgpackr knows (and a few it does not), with random data of random length.
    const EXTENSIONS = [0x00, 0x05, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0xff];
    const ext = fc
      .record({ type: fc.constantFrom(...EXTENSIONS), data: fc.uint8Array({ maxLength: 24 }), fixed: fc.boolean() })
      .map(({ type, data, fixed }) => {
        const fixext = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 }[data.length];
        const head = fixed && fixext !== undefined ? [fixext, type] : [0xc7, data.length, type];
        return [...head, ...data];
      });
    const scalar: fc.Arbitrary<number[]> = fc.oneof(
      fc.integer({ min: 0, max: 0x7f }).map((n) => [n]),
      fc.constantFrom<number[]>([0xc0], [0xc2], [0xc3], [0xa1, 0x61], [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
    );
    const { value } = fc.letrec<{ value: number[] }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        scalar,
        ext,
        fc.array(tie("value"), { maxLength: 4 }).map((items) => [0x90 + items.length, ...items.flat()]),
        fc
          .array(fc.tuple(fc.constantFrom("a", "b", "__proto__", "constructor"), tie("value")), { maxLength: 3 })
          .map((entries) => [0x80 + entries.length, ...entries.flatMap(([key, item]) => [0xa0 + key.length, ...Buffer.from(key), ...item])]),
      ),
    }));
    fc.assert(
      fc.property(value, (bytes) => {
        decodeThenEncode(Uint8Array.from(bytes));
      }),
      RUN,
    );
  });

  test("arbitrary byte streams in arbitrary chunks: frames or a WireError, and never more held than one frame", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(frameBytes, fc.uint8Array({ maxLength: 40 }).map(Buffer.from)), { maxLength: 8 }), cuts, (parts, at) => {
        const frames: Frame[] = [];
        const decoder = new FrameDecoder(SMALL, (frame) => frames.push(frame));
        onlyWireErrors(() => {
          for (const piece of chunk(Buffer.concat(parts), at)) {
            decoder.push(piece);
            assert.ok(decoder.pendingBytes <= SMALL.maxFrameSize, `holds ${decoder.pendingBytes} bytes`);
          }
        });
        for (const frame of frames) assert.ok(KINDS.includes(frame.kind), `emitted unknown kind ${frame.kind}`);
      }),
      RUN,
    );
  });

  test("valid frames with random bytes flipped: frames or a WireError", () => {
    fc.assert(
      fc.property(
        fc.array(jsonLike, { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        cuts,
        (values, flips, at) => {
          const bytes = Buffer.concat(values.map((value, i) => encodeFrame(FrameKind.Item, i, value)));
          for (const { at: where, byte } of flips) bytes[Math.min(bytes.length - 1, Math.floor(where * bytes.length))] = byte;
          const decoder = new FrameDecoder(DEFAULT_WIRE_LIMITS, () => {});
          onlyWireErrors(() => {
            for (const piece of chunk(bytes, at)) decoder.push(piece);
          });
        },
      ),
      RUN,
    );
  });

  test("JSON-like values round-trip through encodeFrame and the decoder, in any chunking", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ kind: fc.constantFrom(...KINDS), id: fc.nat({ max: 0xffffffff }), body: jsonLike }),
          { minLength: 1, maxLength: 6 },
        ),
        cuts,
        (sent, at) => {
          const bytes = Buffer.concat(sent.map(({ kind, id, body }) => encodeFrame(kind, id, body)));
          const received: Frame[] = [];
          const decoder = new FrameDecoder(DEFAULT_WIRE_LIMITS, (frame) => received.push(frame));
          for (const piece of chunk(bytes, at)) decoder.push(piece);
          assert.equal(decoder.pendingBytes, 0);
          assert.deepEqual(
            received,
            sent.map(({ kind, id, body }) => ({ kind, id, body: normal(body) })),
          );
        },
      ),
      RUN,
    );
  });

  test("strings, including astral characters, round-trip exactly", () => {
    fc.assert(
      // "__proto__" is renamed by the decoder (msgpackr's guard against prototype pollution).
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 200 }),
        fc.string({ unit: "binary-ascii", maxLength: 50 }).filter((key) => key !== "__proto__"),
        (a, b) => {
          const frames: Frame[] = [];
          new FrameDecoder(DEFAULT_WIRE_LIMITS, (frame) => frames.push(frame)).push(encodeFrame(FrameKind.Item, 1, { [b]: a }));
          assert.deepEqual(frames[0]?.body, { [b]: a });
        },
      ),
      { ...RUN, numRuns: 1_000 },
    );
  });
});
