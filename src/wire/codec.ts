import { Packr, REUSE_BUFFER_MODE, Unpackr } from "msgpackr";
import { FrameKind as Kind, isKnownKind, type Frame, type FrameKind } from "./frame.ts";
import type { WireLimits } from "./limits.ts";
import { screenCallMeta } from "./meta-scan.ts";
import { checkValue } from "./value-check.ts";
import { WireError } from "./wire-error.ts";

/**
 * Frame layout: `u32 length | u8 kind | u32 id | body`, big-endian, where
 * `length` counts every byte after itself. The body is one msgpack value
 * (absent when `length` is 5, meaning `undefined`).
 */
export const HEADER_SIZE = 9;

// Records, structured clone and string bundling are msgpackr extensions other
// implementations would not read; keep the wire plain msgpack.
const packr = new Packr({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  encodeUndefinedAsNil: false,
});
const unpackr = new Unpackr({
  useRecords: false,
  structuredClone: false,
  mapsAsObjects: true,
  int64AsType: "number",
});

/** Encodes a body to msgpack bytes (empty for `undefined`). */
export function encodeBody(body: unknown): Uint8Array {
  return body === undefined ? EMPTY : packr.pack(body);
}

const EMPTY = new Uint8Array(0);

/**
 * A body encoded where the encoder put it: bytes `start` to `end` of a buffer
 * the encoder owns. Valid until the next encode: copy the bytes out, or take
 * a subarray, before encoding anything else.
 */
export type EncodedInPlace = Buffer & { readonly start: number; readonly end: number };

const EMPTY_IN_PLACE = Object.assign(Buffer.alloc(0), { start: 0, end: 0 }) as EncodedInPlace;

/** Encodes a body like {@link encodeBody}, without making a view of the bytes (one allocation less per frame on the hot path). */
export function encodeBodyInPlace(body: unknown): EncodedInPlace {
  return body === undefined ? EMPTY_IN_PLACE : (packr.pack(body, REUSE_BUFFER_MODE) as EncodedInPlace);
}

/** Writes a frame header for a body of `bodyLength` bytes into `target` at `offset`. */
export function writeHeader(target: Buffer, offset: number, kind: FrameKind, id: number, bodyLength: number): void {
  target.writeUInt32BE(bodyLength + 5, offset);
  target[offset + 4] = kind;
  target.writeUInt32BE(id >>> 0, offset + 5);
}

/** Encodes one whole frame into a new buffer. */
export function encodeFrame(kind: FrameKind, id: number, body: unknown): Buffer {
  const bytes = encodeBody(body);
  const out = Buffer.allocUnsafe(HEADER_SIZE + bytes.length);
  writeHeader(out, 0, kind, id, bytes.length);
  out.set(bytes, HEADER_SIZE);
  return out;
}

/** Decodes one body; throws a WireError when it is not one well-formed value within limits. */
export function decodeBody(bytes: Uint8Array, maxDepth: number): unknown {
  return decodeBodyAt(bytes, 0, bytes.length, maxDepth);
}

// Reused for every decode (msgpackr reads it at once): one object less per frame.
const range = { start: 0, end: 0 };
// How msgpackr says a body held more than the one value read.
const LEFT_OVER = "Data read, but end of buffer not reached";

/**
 * Decodes the body held in bytes `start` to `end` of `source`, like
 * {@link decodeBody}, without a view of them: a frame read whole within a
 * chunk is decoded where it lies.
 */
export function decodeBodyAt(source: Uint8Array, start: number, end: number, maxDepth: number): unknown {
  if (end === start) return undefined;
  let value: unknown;
  try {
    range.start = start;
    range.end = end;
    // One value that ends where the body ends: msgpackr refuses bytes left over after it.
    value = unpackr.unpack(source as Buffer, range);
  } catch (error) {
    const message = (error as Error).message;
    if (message.startsWith(LEFT_OVER)) throw new WireError("BAD_BODY", "frame body holds more than one value, expected 1");
    throw new WireError("BAD_BODY", `frame body is not valid msgpack (${message})`);
  }
  checkValue(value, maxDepth);
  return value;
}

/**
 * Turns a byte stream into frames. Lengths are checked as soon as a header is
 * read, so an oversized frame is refused before any of it is buffered. A frame
 * that arrives whole inside one chunk is decoded without copying.
 */
export class FrameDecoder {
  readonly #limits: WireLimits;
  readonly #onFrame: (frame: Frame) => void;
  readonly #header = Buffer.alloc(HEADER_SIZE);
  #headerFill = 0;
  #kind: FrameKind = 0 as FrameKind;
  #id = 0;
  // A body split across chunks is kept as the chunks received so far: memory
  // grows with bytes that arrived, not with the length a header claims.
  #bodyParts: Buffer[] | null = null;
  #bodyLength = 0;
  #bodyFill = 0;
  #failed: WireError | null = null;
  #completed = 0;
  /**
   * CALL bodies up to this many bytes need no metadata scan: a msgpack map
   * entry takes at least 2 bytes, so such a body can hold neither more than
   * `maxMetaEntries` entries nor more than `maxMetaSize` bytes of metadata.
   */
  readonly #screenAbove: number;

  /** The largest frame read now: `maxHandshakeFrameSize` until {@link handshakeDone}, when asked for. */
  #maxFrameSize: number;
  #handshaking: boolean;

  /** With `handshake`, frames are held to `maxHandshakeFrameSize` until {@link handshakeDone} is called. */
  constructor(limits: WireLimits, onFrame: (frame: Frame) => void, handshake = false) {
    this.#limits = limits;
    this.#onFrame = onFrame;
    this.#handshaking = handshake;
    this.#maxFrameSize = handshake ? Math.min(limits.maxHandshakeFrameSize, limits.maxFrameSize) : limits.maxFrameSize;
    this.#screenAbove = Math.min(limits.maxMetaSize, 2 * limits.maxMetaEntries);
  }

  /** The handshake is over: frames up to `maxFrameSize` are read from the next one on. */
  handshakeDone(): void {
    this.#handshaking = false;
    this.#maxFrameSize = this.#limits.maxFrameSize;
  }

  /** Bytes of an incomplete frame held back, waiting for the rest. */
  get pendingBytes(): number {
    return this.#headerFill + this.#bodyFill;
  }

  /** Frames completed so far: a partial frame is another one when this changed since it was last seen. */
  get completedFrames(): number {
    return this.#completed;
  }

  /** Drops the partial frame held, freeing its bytes; nothing more is decoded after it. */
  discard(reason: WireError = new WireError("DISCARDED", "the connection was cut off")): void {
    this.#bodyParts = null;
    this.#bodyFill = 0;
    this.#headerFill = 0;
    this.#failed ??= reason;
  }

  /** Feeds bytes; emits every complete frame. Throws WireError on a violation, and on any push after one. */
  push(chunk: Uint8Array): void {
    if (this.#failed) throw this.#failed;
    try {
      this.#push(chunk);
    } catch (error) {
      if (error instanceof WireError) this.#failed = error;
      throw error;
    }
  }

  #push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let offset = 0;
    while (offset < buf.length) {
      if (this.#bodyParts) {
        const take = Math.min(this.#bodyLength - this.#bodyFill, buf.length - offset);
        this.#bodyParts.push(buf.subarray(offset, offset + take));
        this.#bodyFill += take;
        offset += take;
        if (this.#bodyFill === this.#bodyLength) {
          const body = Buffer.concat(this.#bodyParts, this.#bodyLength);
          this.#bodyParts = null;
          this.#bodyFill = 0;
          this.#emit(body, 0, body.length);
        }
        continue;
      }
      let bodyLength: number;
      if (this.#headerFill === 0 && buf.length - offset >= HEADER_SIZE) {
        bodyLength = this.#readHeader(buf, offset);
        offset += HEADER_SIZE;
      } else {
        const take = Math.min(HEADER_SIZE - this.#headerFill, buf.length - offset);
        buf.copy(this.#header, this.#headerFill, offset, offset + take);
        this.#headerFill += take;
        offset += take;
        if (this.#headerFill < HEADER_SIZE) return;
        this.#headerFill = 0;
        bodyLength = this.#readHeader(this.#header, 0);
      }
      if (buf.length - offset >= bodyLength) {
        this.#emit(buf, offset, offset + bodyLength);
        offset += bodyLength;
      } else {
        this.#bodyParts = [];
        this.#bodyLength = bodyLength;
        this.#bodyFill = 0;
      }
    }
  }

  #readHeader(buf: Buffer, offset: number): number {
    const length = buf.readUInt32BE(offset);
    if (length < 5) {
      throw new WireError("FRAME_TOO_SMALL", `declared frame length ${length} is below the 5-byte minimum`);
    }
    if (length + 4 > this.#maxFrameSize) {
      const limit = this.#handshaking ? `the limit of ${this.#maxFrameSize} before the handshake is over` : `the limit of ${this.#maxFrameSize}`;
      throw new WireError("FRAME_TOO_LARGE", `declared frame size ${length + 4} bytes exceeds ${limit}`);
    }
    const kind = buf[offset + 4]!;
    if (!isKnownKind(kind)) throw new WireError("UNKNOWN_KIND", `unknown frame kind ${kind}`);
    this.#kind = kind;
    this.#id = buf.readUInt32BE(offset + 5);
    return length - 5;
  }

  /** Decodes the body in bytes `start` to `end` of `source`, and hands on the frame. */
  #emit(source: Buffer, start: number, end: number): void {
    this.#completed++;
    let body: unknown;
    if (this.#kind === Kind.Call && end - start > this.#screenAbove) {
      // Metadata over its limits is cut out before decoding: building it is the cost to avoid.
      const bytes = screenCallMeta(source.subarray(start, end), this.#limits);
      body = decodeBody(bytes, this.#limits.maxDepth);
    } else {
      body = decodeBodyAt(source, start, end, this.#limits.maxDepth);
    }
    this.#onFrame({ kind: this.#kind, id: this.#id, body });
  }
}
