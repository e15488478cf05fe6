/** A W3C Trace Context `traceparent`: which trace a call belongs to and which span called it. */
export interface TraceParent {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits: the caller's span. */
  readonly spanId: string;
  /** Trace flags; bit 0 is "sampled". */
  readonly flags: number;
}

const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);
// version-traceid-parentid-flags; a later version may append fields after another dash.
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-|$)/;
// Number#toString(16) is slow enough to show per call: a table instead.
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Parses a `traceparent` value; null for anything the W3C spec says to ignore. */
export function parseTraceparent(value: string | undefined): TraceParent | null {
  if (value === undefined || value.length < 55 || value.length > 512 || !TRACEPARENT.test(value)) return null;
  // Version ff is invalid; version 00 has no more fields.
  if (value.startsWith("ff") || (value.length !== 55 && value.startsWith("00"))) return null;
  const traceId = value.slice(3, 35);
  const spanId = value.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  return { traceId, spanId, flags: parseInt(value.slice(53, 55), 16) };
}

/** Formats a version-00 `traceparent`. */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${HEX_BYTE[flags & 0xff]}`;
}
