import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Packr } from "msgpackr";
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
  type WireErrorCode,
  type WireLimits,
} from "../../src/wire/index.ts";

const LIMITS: WireLimits = { ...DEFAULT_WIRE_LIMITS };

/** A decoder that collects what it emits. */
function collector(limits: WireLimits = LIMITS): { decoder: FrameDecoder; frames: Frame[] } {
  const frames: Frame[] = [];
  return { decoder: new FrameDecoder(limits, (frame) => frames.push(frame)), frames };
}

function header(kind: number, id: number, declaredLength: number): Buffer {
  const out = Buffer.alloc(HEADER_SIZE);
  out.writeUInt32BE(declaredLength >>> 0, 0);
  out[4] = kind;
  out.writeUInt32BE(id >>> 0, 5);
  return out;
}

function rawFrame(kind: number, id: number, body: Uint8Array): Buffer {
  return Buffer.concat([header(kind, id, body.length + 5), body]);
}

/** Asserts that `run` throws a WireError with `code`. */
function throwsWire(run: () => unknown, code: WireErrorCode, message?: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof WireError, `expected a WireError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** An array nested `depth` levels deep, as msgpack: `[[[…[null]…]]]`. */
function nestedArrayBytes(depth: number): Buffer {
  const bytes = Buffer.alloc(depth + 1, 0x91);
  bytes[depth] = 0xc0;
  return bytes;
}

const CALL_BODY = ["calculator", "add", "^1.0.0", 250, { trace: "abc" }, { a: 1, b: 2.5, note: "héllo ✓" }, 0];

describe("FrameDecoder: framing", () => {
  test("a frame split at every byte boundary decodes to the same frame", () => {
    const frame = encodeFrame(FrameKind.Call, 7, CALL_BODY);
    for (let split = 0; split <= frame.length; split++) {
      const { decoder, frames } = collector();
      decoder.push(frame.subarray(0, split));
      assert.equal(frames.length, split === frame.length ? 1 : 0, `split at ${split}`);
      assert.ok(decoder.pendingBytes <= split, `split at ${split}: holds ${decoder.pendingBytes} bytes`);
      decoder.push(frame.subarray(split));
      assert.equal(frames.length, 1, `split at ${split}`);
      assert.deepEqual(frames[0], { kind: FrameKind.Call, id: 7, body: CALL_BODY });
      assert.equal(decoder.pendingBytes, 0);
    }
  });

  test("a frame fed one byte at a time decodes once, at its last byte", () => {
    const frame = encodeFrame(FrameKind.Result, 0xfffffffe, [{ ok: true }, null]);
    const { decoder, frames } = collector();
    for (let i = 0; i < frame.length; i++) {
      assert.equal(frames.length, 0, `emitted early, at byte ${i}`);
      decoder.push(frame.subarray(i, i + 1));
    }
    assert.deepEqual(frames, [{ kind: FrameKind.Result, id: 0xfffffffe, body: [{ ok: true }, null] }]);
  });

  test("several frames in one chunk come out in order; a trailing partial frame is held", () => {
    const bodies: Array<[FrameKind, number, unknown]> = [
      [FrameKind.Hello, 0, { proto: "amoeba", v: 1 }],
      [FrameKind.Ping, 0, undefined],
      [FrameKind.Call, 1, CALL_BODY],
      [FrameKind.Credit, 1, 64],
      [FrameKind.Item, 1, "x".repeat(20_000)],
      [FrameKind.End, 1, null],
    ];
    const next = encodeFrame(FrameKind.Cancel, 3, null);
    const chunk = Buffer.concat([...bodies.map(([kind, id, body]) => encodeFrame(kind, id, body)), next.subarray(0, 4)]);
    const { decoder, frames } = collector();
    decoder.push(chunk);
    assert.deepEqual(
      frames,
      bodies.map(([kind, id, body]) => ({ kind, id, body })),
    );
    assert.equal(decoder.pendingBytes, 4);
    decoder.push(next.subarray(4));
    assert.deepEqual(frames.at(-1), { kind: FrameKind.Cancel, id: 3, body: null });
    assert.equal(decoder.pendingBytes, 0);
  });

  test("a frame with an empty body carries undefined", () => {
    const { decoder, frames } = collector();
    decoder.push(header(FrameKind.Ping, 0, 5));
    assert.deepEqual(frames, [{ kind: FrameKind.Ping, id: 0, body: undefined }]);
  });

  test("every known kind is accepted", () => {
    for (const kind of Object.values(FrameKind)) {
      const { decoder, frames } = collector();
      decoder.push(encodeFrame(kind, 1, null));
      assert.equal(frames[0]?.kind, kind);
    }
  });
});

describe("FrameDecoder: limits on the declared length", () => {
  const limits: WireLimits = { ...LIMITS, maxFrameSize: 1024 };

  test("a frame exactly at the limit is accepted", () => {
    const { decoder, frames } = collector(limits);
    const body = encodeBody("y".repeat(1024 - HEADER_SIZE - 3));
    assert.equal(HEADER_SIZE + body.length, 1024);
    decoder.push(rawFrame(FrameKind.Item, 1, body));
    assert.equal(frames.length, 1);
  });

  for (const declared of [1024 - 4 + 1, 1_000_000, 0x7fffffff, 0xffffffff]) {
    test(`declared length ${declared} is refused on the header alone`, () => {
      const { decoder, frames } = collector(limits);
      throwsWire(() => decoder.push(header(FrameKind.Item, 1, declared)), "FRAME_TOO_LARGE", /exceeds the limit of 1024/);
      assert.ok(decoder.pendingBytes <= HEADER_SIZE, `holds ${decoder.pendingBytes} bytes`);
      assert.equal(frames.length, 0);
    });
  }

  test("0xFFFFFFFF is refused with the default 4 MiB limit, even when body bytes follow in the same chunk", () => {
    const { decoder, frames } = collector();
    const chunk = Buffer.concat([header(FrameKind.Item, 1, 0xffffffff), Buffer.alloc(64 * 1024, 0xa1)]);
    throwsWire(() => decoder.push(chunk), "FRAME_TOO_LARGE");
    assert.ok(decoder.pendingBytes <= HEADER_SIZE, `holds ${decoder.pendingBytes} bytes`);
    assert.equal(frames.length, 0);
  });

  test("an oversized header arriving a byte at a time is refused before any body is buffered", () => {
    const { decoder } = collector(limits);
    const bytes = Buffer.concat([header(FrameKind.Item, 1, 0xffffffff), Buffer.alloc(100)]);
    let failedAt = -1;
    for (let i = 0; i < bytes.length && failedAt < 0; i++) {
      try {
        decoder.push(bytes.subarray(i, i + 1));
      } catch (error) {
        assert.ok(error instanceof WireError && error.code === "FRAME_TOO_LARGE");
        failedAt = i;
      }
    }
    assert.equal(failedAt, HEADER_SIZE - 1, "refused when the header is complete");
    assert.ok(decoder.pendingBytes <= HEADER_SIZE);
  });

  for (const declared of [0, 1, 4]) {
    test(`declared length ${declared} is below the minimum`, () => {
      const { decoder } = collector();
      throwsWire(() => decoder.push(header(FrameKind.Ping, 0, declared)), "FRAME_TOO_SMALL", /below the 5-byte minimum/);
    });
  }

  test("after a violation every further push fails with the same error", () => {
    const { decoder, frames } = collector();
    throwsWire(() => decoder.push(header(FrameKind.Ping, 0, 2)), "FRAME_TOO_SMALL");
    throwsWire(() => decoder.push(encodeFrame(FrameKind.Ping, 0, null)), "FRAME_TOO_SMALL");
    assert.equal(frames.length, 0);
  });
});

describe("FrameDecoder: kinds and bodies", () => {
  for (const kind of [0, 7, 15, 23, 31, 35, 255]) {
    test(`unknown frame kind ${kind} is refused`, () => {
      const { decoder, frames } = collector();
      throwsWire(() => decoder.push(rawFrame(kind, 0, encodeBody(null))), "UNKNOWN_KIND", new RegExp(`kind ${kind}\\b`));
      assert.equal(frames.length, 0);
    });
  }

  const undecodable: Array<[string, number[]]> = [
    ["a truncated array", [0x92, 0x01]],
    ["a truncated string", [0xa5, 0x61, 0x62]],
    ["a str32 claiming 4 GiB", [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]],
    ["an array32 claiming 4 billion items", [0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ["trailing bytes after the value", [0x01, 0x02]],
    ["a map with an object key", [0x81, 0x81, 0xa1, 0x61, 0x01, 0x02]],
    ["an unknown extension type", [0xd4, 0x05, 0x00]],
    ["the structured-clone id extension", [0xd6, 0x69, 0, 0, 0, 1, 0x90]],
  ];
  for (const [name, bytes] of undecodable) {
    test(`a body that does not decode (${name}) is BAD_BODY`, () => {
      const { decoder, frames } = collector();
      throwsWire(() => decoder.push(rawFrame(FrameKind.Item, 1, Buffer.from(bytes))), "BAD_BODY");
      assert.equal(frames.length, 0);
      throwsWire(() => decodeBody(Buffer.from(bytes), LIMITS.maxDepth), "BAD_BODY");
    });
  }

  test("the never-used byte 0xc1 is refused", () => {
    const { decoder } = collector();
    assert.throws(() => decoder.push(rawFrame(FrameKind.Item, 1, Buffer.from([0xc1]))), WireError);
  });

  test("nesting up to maxDepth is accepted; one more level is TOO_DEEP", () => {
    const limits = { ...LIMITS, maxDepth: 16 };
    const ok = collector(limits);
    ok.decoder.push(rawFrame(FrameKind.Item, 1, nestedArrayBytes(16)));
    assert.equal(ok.frames.length, 1);
    const deep = collector(limits);
    throwsWire(() => deep.decoder.push(rawFrame(FrameKind.Item, 1, nestedArrayBytes(17))), "TOO_DEEP", /deeper than 16/);
  });

  test("deeply nested maps are TOO_DEEP", () => {
    // {"a": {"a": … 100 levels … null}}
    const bytes = Buffer.concat([...Array.from({ length: 100 }, () => Buffer.from([0x81, 0xa1, 0x61])), Buffer.from([0xc0])]);
    throwsWire(() => collector().decoder.push(rawFrame(FrameKind.Item, 1, bytes)), "TOO_DEEP");
  });

  test("nesting deep enough to overflow the stack is a WireError, and decoding still works afterwards", () => {
    const bytes = nestedArrayBytes(1_000_000);
    const { decoder } = collector({ ...LIMITS, maxFrameSize: 2 * 1024 * 1024 });
    assert.throws(() => decoder.push(rawFrame(FrameKind.Item, 1, bytes)), WireError);
    const fresh = collector();
    fresh.decoder.push(encodeFrame(FrameKind.Item, 1, { a: [1, 2, { b: "c" }] }));
    assert.deepEqual(fresh.frames[0]?.body, { a: [1, 2, { b: "c" }] });
  });

  // msgpackr writes these with its extensions; Amoeba refuses to hand them to a handler.
  const exotic = new Packr({ moreTypes: true, structuredClone: false, useRecords: false });
  const unsupported: Array<[string, unknown, string]> = [
    ["RegExp", /a+b/gi, "RegExp"],
    ["Error", new Error("boom"), "Error"],
    ["TypeError", new TypeError("boom"), "TypeError"],
    ["Set", new Set([1, 2]), "Set"],
    ["Float64Array", new Float64Array([1.5]), "Float64Array"],
    ["Int32Array", new Int32Array([7]), "Int32Array"],
    ["ArrayBuffer", new ArrayBuffer(8), "ArrayBuffer"],
    ["a BigInt too large for int64", 2n ** 70n, "bigint"],
    ["a RegExp nested in an object", { input: { pattern: /x/ } }, "RegExp"],
    ["a Set nested in an array", [1, [2, new Set()]], "Set"],
    ["a BigInt nested in an array", [1, 2n ** 80n], "bigint"],
    ["a BigInt as an object value", { a: -(2n ** 90n) }, "bigint"],
  ];
  for (const [name, value, typeName] of unsupported) {
    test(`${name} is UNSUPPORTED_VALUE`, () => {
      const bytes = exotic.pack(value);
      const { decoder, frames } = collector();
      throwsWire(() => decoder.push(rawFrame(FrameKind.Item, 1, bytes)), "UNSUPPORTED_VALUE", new RegExp(`\\(${typeName}\\)`));
      assert.equal(frames.length, 0);
    });
  }

  test("the BigInt extension is refused even for a small value", () => {
    // ext 0x42, one byte: 5n
    throwsWire(() => decodeBody(Buffer.from([0xd4, 0x42, 0x05]), LIMITS.maxDepth), "UNSUPPORTED_VALUE", /bigint/);
  });

  test("bytes and dates are carried", () => {
    const { decoder, frames } = collector();
    const value = { bytes: new Uint8Array([1, 2, 3]), when: new Date(1_700_000_000_000) };
    decoder.push(encodeFrame(FrameKind.Item, 1, value));
    const body = frames[0]?.body as { bytes: Uint8Array; when: Date };
    assert.deepEqual([...body.bytes], [1, 2, 3]);
    assert.equal(body.when.getTime(), value.when.getTime());
  });
});

describe("FrameDecoder: __proto__ and constructor keys", () => {
  const hostileJson =
    '{"__proto__": {"polluted": "yes", "isAdmin": true},' +
    ' "constructor": {"prototype": {"polluted": "yes"}},' +
    ' "nested": [{"__proto__": {"polluted": "yes"}}],' +
    ' "toString": "not a function"}';

  function assertNoPollution(decoded: unknown): void {
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was polluted");
    assert.equal(Object.hasOwn(Object.prototype, "polluted"), false);
    assert.equal(Object.hasOwn(Object.prototype, "isAdmin"), false);
    assert.equal(typeof Object.prototype.toString, "function");
    const object = decoded as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(object), Object.prototype, "the decoded object's prototype was replaced");
    assert.equal(object.polluted, undefined);
    assert.equal(object.isAdmin, undefined);
    const nested = (object.nested as Array<Record<string, unknown>>)[0]!;
    assert.equal(Object.getPrototypeOf(nested), Object.prototype);
    assert.equal(nested.polluted, undefined);
    // `constructor` is plain data, not a way to reach Object.
    assert.deepEqual(object.constructor, { prototype: { polluted: "yes" } });
    assert.equal(object.toString, "not a function");
  }

  test("decoding a map with such keys pollutes nothing", () => {
    // JSON.parse makes "__proto__" an own key, so msgpackr writes it as a map key.
    const source = JSON.parse(hostileJson) as unknown;
    assert.ok(Object.hasOwn(source as object, "__proto__"));
    const { decoder, frames } = collector();
    decoder.push(encodeFrame(FrameKind.Call, 1, ["calculator", "add", null, null, null, source, 0]));
    const input = (frames[0]?.body as unknown[])[5];
    assertNoPollution(input);
  });

  test("a record definition naming __proto__ pollutes nothing, also once msgpackr compiles its reader", () => {
    // msgpackr's record extension: fixext1 0x72 defines slot 0x40 with keys ["__proto__", "x"];
    // later 0x40 bytes reuse it. After a few uses msgpackr compiles a reader function for it.
    const keys = encodeBody(["__proto__", "x"]);
    const value = (n: number): Buffer => Buffer.concat([encodeBody({ polluted: "yes" }), encodeBody(n)]);
    const uses = 5;
    const bytes = Buffer.concat([
      Buffer.from([0x90 + uses, 0xd4, 0x72, 0x40]),
      keys,
      value(0),
      ...Array.from({ length: uses - 1 }, (_, i) => Buffer.concat([Buffer.from([0x40]), value(i + 1)])),
    ]);
    let decoded: unknown;
    try {
      decoded = decodeBody(bytes, LIMITS.maxDepth);
    } catch (error) {
      // Refusing records altogether would be fine too.
      assert.ok(error instanceof WireError, `expected a WireError, got ${String(error)}`);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was polluted");
    if (decoded !== undefined) {
      assert.ok(Array.isArray(decoded) && decoded.length === uses);
      decoded.forEach((record: Record<string, unknown>, i) => {
        assert.equal(Object.getPrototypeOf(record), Object.prototype, `record ${i} has another prototype`);
        assert.equal(record.polluted, undefined);
        assert.equal(record.x, i);
      });
    }
  });
});
