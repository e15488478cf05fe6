import { WireError } from "./wire-error.ts";

/**
 * Checks a decoded body: nesting no deeper than `maxDepth`, and only the value
 * types Amoeba promises to carry (plain objects, arrays, strings, numbers,
 * booleans, null, bytes and dates). msgpack extensions a hostile peer could
 * send (RegExp, Error, Set, typed arrays) are refused here rather than handed
 * to a handler.
 */
export function checkValue(value: unknown, maxDepth: number): void {
  if (value !== null && typeof value === "object") walk(value, 1, maxDepth);
  else if (typeof value === "bigint") refuseBigInt();
}

function walk(value: object, depth: number, maxDepth: number): void {
  if (depth > maxDepth) {
    throw new WireError("TOO_DEEP", `body nests deeper than ${maxDepth} levels`);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item !== null && typeof item === "object") walk(item, depth + 1, maxDepth);
      else if (typeof item === "bigint") refuseBigInt();
    }
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    for (const key in value) {
      const item: unknown = (value as Record<string, unknown>)[key];
      if (item !== null && typeof item === "object") walk(item, depth + 1, maxDepth);
      else if (typeof item === "bigint") refuseBigInt();
    }
    return;
  }
  if (value instanceof Uint8Array || value instanceof Date) return;
  throw new WireError("UNSUPPORTED_VALUE", `body carries an unsupported value type (${describe(value)})`);
}

// msgpackr's BigInt extension (0x42) decodes to a bigint of any size, which
// Amoeba does not carry, and which cannot be encoded again (a PING echoing one
// in its PONG would throw inside the socket's data handler).
function refuseBigInt(): never {
  throw new WireError("UNSUPPORTED_VALUE", "body carries an unsupported value type (bigint)");
}

function describe(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" ? name : Object.prototype.toString.call(value);
}
