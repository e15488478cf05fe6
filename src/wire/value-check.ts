import { WireError } from "./wire-error.ts";

/**
 * Checks a decoded body: nesting no deeper than `maxDepth`, and only the value
 * types Amoeba promises to carry (plain objects, arrays, strings, numbers,
 * booleans, null, bytes and dates). msgpack extensions a hostile peer could
 * send (RegExp, Error, Set, typed arrays) are refused here rather than handed
 * to a handler.
 */
export function checkValue(value: unknown, maxDepth: number): void {
  if (value === null || typeof value !== "object") return;
  walk(value, 1, maxDepth);
}

function walk(value: object, depth: number, maxDepth: number): void {
  if (depth > maxDepth) {
    throw new WireError("TOO_DEEP", `body nests deeper than ${maxDepth} levels`);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item !== null && typeof item === "object") walk(item, depth + 1, maxDepth);
    }
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    for (const key in value) {
      const item: unknown = (value as Record<string, unknown>)[key];
      if (item !== null && typeof item === "object") walk(item, depth + 1, maxDepth);
    }
    return;
  }
  if (value instanceof Uint8Array || value instanceof Date) return;
  throw new WireError("UNSUPPORTED_VALUE", `body carries an unsupported value type (${describe(value)})`);
}

function describe(value: object): string {
  return (value as { constructor?: { name?: unknown } }).constructor?.name === "string"
    ? String((value as { constructor: { name: string } }).constructor.name)
    : Object.prototype.toString.call(value);
}
