/**
 * A look at a CALL body's metadata before the body is decoded. Decoding a
 * map of 300,000 entries builds 300,000 properties (about a third of a
 * second); reading its msgpack header says how many entries it has in a few
 * byte reads. So metadata over its limits is cut out of the bytes, unbuilt,
 * and the call refused, at the cost of the scan.
 */
import type { WireLimits } from "./limits.ts";

/** Where CALL carries its metadata: `[service, method, version, timeout, meta, …]`. */
const CALL_META_INDEX = 4;

/**
 * The CALL body, or, when its metadata map has more than `maxMetaEntries`
 * entries or more than `maxMetaSize` bytes of string keys and values, a
 * short CALL body in its place: `[service, method, version, timeout, false,
 * nil, 0]`, the first four copied as they came. `false` is not a map of
 * strings, so the RPC layer refuses the call (INVALID_ARGUMENT, naming the
 * limits) and neither the metadata nor the input is ever decoded. Any body
 * this scan cannot read is returned as it is, for the decoder to judge.
 */
export function screenCallMeta(body: Buffer, limits: Pick<WireLimits, "maxMetaSize" | "maxMetaEntries">): Buffer {
  const array = containerHeader(body, 0);
  if (array === null || array.kind !== "array" || array.count <= CALL_META_INDEX) return body;
  let at = array.next;
  for (let i = 0; i < CALL_META_INDEX; i++) {
    at = skipValue(body, at);
    if (at < 0) return body;
  }
  if (!metaOverLimits(body, at, limits)) return body;
  const prefix = body.subarray(array.next, at);
  const out = Buffer.allocUnsafe(1 + prefix.length + 3);
  out[0] = 0x97; // an array of 7
  prefix.copy(out, 1);
  // false (refused metadata), nil (no input), 0 (no credit)
  out.set([0xc2, 0xc0, 0x00], 1 + prefix.length);
  return out;
}

/** Whether the map at `offset` is over the limits; false for anything but a map (nil included). */
function metaOverLimits(bytes: Buffer, offset: number, limits: Pick<WireLimits, "maxMetaSize" | "maxMetaEntries">): boolean {
  const map = containerHeader(bytes, offset);
  if (map === null || map.kind !== "map") return false;
  if (map.count > limits.maxMetaEntries) return true;
  let at = map.next;
  let size = 0;
  // Bounded by maxMetaEntries: the loop costs at most that many pairs of header reads.
  for (let i = 0; i < map.count * 2; i++) {
    const str = stringHeader(bytes, at);
    if (str === null) return false;
    size += str.length;
    if (size > limits.maxMetaSize) return true;
    at = str.next + str.length;
  }
  return false;
}

interface Container {
  kind: "array" | "map";
  count: number;
  /** Offset of the first element. */
  next: number;
}

function containerHeader(bytes: Buffer, at: number): Container | null {
  if (at >= bytes.length) return null;
  const b = bytes[at]!;
  if (b >= 0x90 && b <= 0x9f) return { kind: "array", count: b & 0x0f, next: at + 1 };
  if (b >= 0x80 && b <= 0x8f) return { kind: "map", count: b & 0x0f, next: at + 1 };
  if (b === 0xdc || b === 0xde) return at + 3 <= bytes.length ? { kind: b === 0xdc ? "array" : "map", count: bytes.readUInt16BE(at + 1), next: at + 3 } : null;
  if (b === 0xdd || b === 0xdf) return at + 5 <= bytes.length ? { kind: b === 0xdd ? "array" : "map", count: bytes.readUInt32BE(at + 1), next: at + 5 } : null;
  return null;
}

function stringHeader(bytes: Buffer, at: number): { length: number; next: number } | null {
  if (at >= bytes.length) return null;
  const b = bytes[at]!;
  if (b >= 0xa0 && b <= 0xbf) return { length: b & 0x1f, next: at + 1 };
  if (b === 0xd9) return at + 2 <= bytes.length ? { length: bytes[at + 1]!, next: at + 2 } : null;
  if (b === 0xda) return at + 3 <= bytes.length ? { length: bytes.readUInt16BE(at + 1), next: at + 3 } : null;
  if (b === 0xdb) return at + 5 <= bytes.length ? { length: bytes.readUInt32BE(at + 1), next: at + 5 } : null;
  return null;
}

/**
 * The offset after the value at `at`, or -1 when the bytes end first or hold
 * an unknown byte. Iterative: a deep or wide value costs one step per value
 * and no stack.
 */
export function skipValue(bytes: Buffer, at: number): number {
  let remaining = 1;
  while (remaining > 0) {
    if (at >= bytes.length) return -1;
    remaining--;
    const b = bytes[at]!;
    const container = containerHeader(bytes, at);
    if (container !== null) {
      remaining += container.kind === "map" ? container.count * 2 : container.count;
      at = container.next;
      continue;
    }
    const size = scalarSize(bytes, at, b);
    if (size < 0) return -1;
    at += size;
  }
  return at <= bytes.length ? at : -1;
}

/** The whole size of a scalar at `at` (header and payload), or -1. */
function scalarSize(bytes: Buffer, at: number, b: number): number {
  if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return 1;
  if (b >= 0xa0 && b <= 0xbf) return 1 + (b & 0x1f);
  // `at + n <= length`, written out: a closure here would be made for every value scanned.
  const left = bytes.length - at;
  switch (b) {
    case 0xcc:
    case 0xd0:
      return 2;
    case 0xcd:
    case 0xd1:
      return 3;
    case 0xca:
    case 0xce:
    case 0xd2:
      return 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return 9;
    case 0xd9:
    case 0xc4:
      return left >= 2 ? 2 + bytes[at + 1]! : -1;
    case 0xda:
    case 0xc5:
      return left >= 3 ? 3 + bytes.readUInt16BE(at + 1) : -1;
    case 0xdb:
    case 0xc6:
      return left >= 5 ? 5 + bytes.readUInt32BE(at + 1) : -1;
    case 0xd4:
      return 3;
    case 0xd5:
      return 4;
    case 0xd6:
      return 6;
    case 0xd7:
      return 10;
    case 0xd8:
      return 18;
    case 0xc7:
      return left >= 2 ? 3 + bytes[at + 1]! : -1;
    case 0xc8:
      return left >= 3 ? 4 + bytes.readUInt16BE(at + 1) : -1;
    case 0xc9:
      return left >= 5 ? 6 + bytes.readUInt32BE(at + 1) : -1;
    default:
      return -1;
  }
}
