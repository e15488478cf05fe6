/**
 * The `amoeba` member of a JSON-RPC request: what a plain JSON-RPC request
 * cannot say — the call's deadline, its metadata, and the credit its client
 * grants for a stream's items. Plain JSON-RPC clients leave it out.
 */
import type { Meta } from "../rpc/call-options.ts";
import { EdgeFailure, JSONRPC } from "./errors.ts";
import { CALLER_META } from "./options.ts";

/** What a request asked for beyond JSON-RPC. */
export interface CallExtension {
  /** The call's deadline in ms from now, already capped at the edge's maxTimeout. */
  timeout: number | undefined;
  /** Metadata from the client (never reserved keys). */
  meta: Meta | undefined;
  /** Items of a result stream the client accepts before it grants more (`amoeba.credit`); undefined: no credit from the client. */
  credit: number | undefined;
}

/** Keys a client may not set: the edge's own (`amoeba-caller`, …). */
const RESERVED_PREFIX = "amoeba-";
/** Metadata limits: entries, key and value length. */
const MAX_META_ENTRIES = 32;
const MAX_META_KEY = 128;
const MAX_META_VALUE = 4096;
const META_KEY = /^[a-z0-9][a-z0-9_.-]*$/;
/** The most stream items a client may grant at once. */
const MAX_CREDIT = 10_000;

const NONE: CallExtension = Object.freeze({ timeout: undefined, meta: undefined, credit: undefined });

/** Reads the `amoeba` member of a request; a malformed one is an invalid-params failure. */
export function readExtension(value: unknown, maxTimeout: number): CallExtension | EdgeFailure {
  if (value === undefined) return NONE;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return invalid('"amoeba" must be an object: { "timeout"?, "meta"?, "credit"? }');
  const { timeout, meta, credit } = value as { timeout?: unknown; meta?: unknown; credit?: unknown };
  if (timeout !== undefined && !(Number.isInteger(timeout) && (timeout as number) >= 1)) return invalid('"amoeba.timeout" takes a whole number of milliseconds ≥ 1');
  if (credit !== undefined && !(Number.isInteger(credit) && (credit as number) >= 1 && (credit as number) <= MAX_CREDIT)) {
    return invalid(`"amoeba.credit" takes a whole number of items from 1 to ${MAX_CREDIT}`);
  }
  const checked = meta === undefined ? undefined : checkMeta(meta);
  if (checked instanceof EdgeFailure) return checked;
  return {
    timeout: timeout === undefined ? undefined : Math.min(timeout as number, maxTimeout),
    meta: checked,
    credit: credit as number | undefined,
  };
}

/**
 * Client metadata: at most 32 entries of lowercase keys (letters, digits,
 * `-`, `_`, `.`) and string values; keys starting `amoeba-` are the edge's
 * and refused, so a client cannot pose as an authenticated caller.
 */
function checkMeta(meta: unknown): Meta | EdgeFailure {
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) return invalid('"amoeba.meta" must be an object of string values');
  const entries = Object.entries(meta);
  if (entries.length > MAX_META_ENTRIES) return invalid(`"amoeba.meta" holds at most ${MAX_META_ENTRIES} entries`);
  const out: Meta = {};
  for (const [key, text] of entries) {
    if (key.length > MAX_META_KEY || !META_KEY.test(key)) return invalid(`metadata key ${JSON.stringify(key.slice(0, MAX_META_KEY))} must be lowercase letters, digits, '-', '_' or '.'`);
    if (key.startsWith(RESERVED_PREFIX) || key === CALLER_META) return invalid(`metadata key "${key}" is reserved for the edge`);
    if (typeof text !== "string" || text.length > MAX_META_VALUE) return invalid(`metadata "${key}" must be a string of at most ${MAX_META_VALUE} characters`);
    out[key] = text;
  }
  return out;
}

/** The metadata of a call: the client's, then the edge's (caller, trace context), which wins. */
export function callMeta(client: Meta | undefined, edge: Meta | undefined): Meta | undefined {
  if (client === undefined) return edge;
  return edge === undefined ? client : { ...client, ...edge };
}

function invalid(message: string): EdgeFailure {
  return new EdgeFailure(400, "INVALID_ARGUMENT", `Invalid params: ${message}`, { jsonRpcCode: JSONRPC.INVALID_PARAMS });
}
