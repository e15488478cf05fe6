import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { DEFAULT_WIRE_LIMITS, decodeBody, FrameDecoder, FrameKind, HEADER_SIZE, screenCallMeta, writeHeader, type Frame } from "../../src/wire/index.ts";
import { skipValue } from "../../src/wire/meta-scan.ts";

// Amoeba's own encoder refuses maps over 65,535 entries; a hostile peer's need not.
const wide = new Packr({ useRecords: false, variableMapSize: true });
const LIMITS = { ...DEFAULT_WIRE_LIMITS };

function metaOf(entries: number, value = "v"): Record<string, string> {
  const meta: Record<string, string> = {};
  for (let i = 0; i < entries; i++) meta[`k${i}`] = value;
  return meta;
}

function call(meta: unknown): Buffer {
  return wide.pack(["calculator", "add", "^1.0.0", 2000, meta, { a: 1, b: 2 }, 0, 0]);
}

describe("CALL metadata is screened before it is decoded", () => {
  test("metadata within the limits passes unchanged (the very same bytes)", () => {
    for (const meta of [null, {}, { traceparent: "00-abc-def-01" }, metaOf(LIMITS.maxMetaEntries)]) {
      const body = call(meta);
      assert.equal(screenCallMeta(body, LIMITS), body);
    }
  });

  test("more entries than maxMetaEntries: a short CALL with false for metadata and neither metadata nor input", () => {
    const screened = screenCallMeta(call(metaOf(LIMITS.maxMetaEntries + 1)), LIMITS);
    assert.deepEqual(decodeBody(screened, 64), ["calculator", "add", "^1.0.0", 2000, false, null, 0]);
  });

  test("more bytes than maxMetaSize, in few entries: refused too", () => {
    const screened = screenCallMeta(call({ big: "x".repeat(LIMITS.maxMetaSize) }), LIMITS);
    assert.equal((decodeBody(screened, 64) as unknown[])[4], false);
    const fits = call({ k: "x".repeat(LIMITS.maxMetaSize - 1) });
    assert.equal(screenCallMeta(fits, LIMITS), fits);
  });

  test("a 300,000-entry map is refused in about the time of a few reads, not of building it", () => {
    const body = call(metaOf(300_000));
    const frame = Buffer.alloc(HEADER_SIZE + body.length);
    writeHeader(frame, 0, FrameKind.Call, 1, body.length);
    body.copy(frame, HEADER_SIZE);
    const frames: Frame[] = [];
    const decoder = new FrameDecoder(LIMITS, (f) => frames.push(f));
    const started = performance.now();
    decoder.push(frame);
    const elapsed = performance.now() - started;
    // Printed, not asserted on: the proof is that the map was never built.
    console.log(`# a CALL of ${body.length} bytes with 300,000 metadata entries screened and decoded in ${elapsed.toFixed(1)} ms`);
    assert.equal(frames.length, 1);
    assert.equal((frames[0]!.body as unknown[])[4], false, "the map was cut out, not decoded");
  });

  test("bodies the scan cannot read are left for the decoder to judge", () => {
    for (const body of [Buffer.from([0x93, 0xa1]), Buffer.from([0xc1]), wide.pack({ not: "a list" }), wide.pack(["a", "b"]), Buffer.alloc(0)]) {
      assert.equal(screenCallMeta(body, LIMITS), body);
    }
  });

  test("skipValue finds the end of any value msgpack encodes (fuzzed)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.uint8Array({ maxLength: 8 }), (value, tail) => {
        const bytes = wide.pack(value);
        assert.equal(skipValue(Buffer.concat([bytes, tail]), 0), bytes.length);
        // Cut short anywhere, it says so instead of reading past the end.
        if (bytes.length > 1) assert.equal(skipValue(bytes.subarray(0, bytes.length - 1), 0) <= bytes.length - 1, true);
      }),
      { numRuns: 500 },
    );
  });
});
