import { randomFillSync } from "node:crypto";

/**
 * Trace and span ids for calls traced without OpenTelemetry: random bytes
 * drawn and hex-encoded in blocks, each id a slice of the block (one system
 * call and one encoding per few hundred ids; `Number#toString(16)` per id
 * would be slow enough to show per call).
 */

const ZERO_SPAN = "0".repeat(16);
const ZERO_TRACE = "0".repeat(32);
const bytes = Buffer.allocUnsafe(4096);
let block = "";
let used = 0;

/** A random span id: 16 hex digits, never all zero. */
export function newSpanId(): string {
  const id = randomHex(16);
  return id === ZERO_SPAN ? newSpanId() : id;
}

/** A random trace id: 32 hex digits, never all zero. */
export function newTraceId(): string {
  const id = randomHex(32);
  return id === ZERO_TRACE ? newTraceId() : id;
}

function randomHex(digits: number): string {
  if (used + digits > block.length) {
    randomFillSync(bytes);
    block = bytes.toString("hex");
    used = 0;
  }
  used += digits;
  return block.slice(used - digits, used);
}
