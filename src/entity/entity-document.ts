/**
 * What the entity layer saves for one entity: its state and its idempotency
 * records together, as one msgpack value, so that one fenced write changes
 * both. Stores see only the bytes.
 */
import { decodeBody, encodeBody } from "../wire/codec.ts";
import { StoreError } from "./errors.ts";
import type { CompletedCall } from "./idempotency.ts";

/** An entity's saved document. */
export interface EntityDocument {
  /** The entity's state: plain data (objects, arrays, strings, numbers, booleans, null, bytes, dates). */
  readonly state: unknown;
  readonly completed: readonly CompletedCall[];
  /** Its reminders, when it has any: name → when it is due (ms since the epoch). */
  readonly reminders?: Readonly<Record<string, number>>;
}

// The format number, so a later format can read this one.
const FORMAT = 1;
// State nests at most this deep (the wire's own default depth is the same order).
const MAX_DEPTH = 64;

/** Encodes a document to bytes for a store. */
export function encodeEntityDocument(document: EntityDocument): Uint8Array {
  const reminders = document.reminders && Object.keys(document.reminders).length > 0 ? { r: document.reminders } : {};
  return encodeBody({ f: FORMAT, s: document.state ?? null, c: document.completed.map((call) => [call.id, call.at, call.result ?? null]), ...reminders });
}

/** Decodes bytes saved by {@link encodeEntityDocument}; a CORRUPT store error when they are not such a document. */
export function decodeEntityDocument(bytes: Uint8Array): EntityDocument {
  let value: unknown;
  try {
    value = decodeBody(bytes, MAX_DEPTH);
  } catch (error) {
    throw new StoreError("CORRUPT", `an entity document does not decode: ${(error as Error).message}`, { cause: error });
  }
  const record = value as { f?: unknown; s?: unknown; c?: unknown; r?: unknown } | undefined;
  if (typeof record !== "object" || record === null || record.f !== FORMAT || !Array.isArray(record.c)) {
    throw new StoreError("CORRUPT", "stored bytes are not an entity document of this format");
  }
  const completed: CompletedCall[] = [];
  for (const entry of record.c as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "number") {
      throw new StoreError("CORRUPT", "an entity document holds a malformed idempotency record");
    }
    completed.push({ id: entry[0], at: entry[1], result: entry[2] });
  }
  if (record.r === undefined) return { state: record.s, completed };
  const reminders: Record<string, number> = Object.create(null);
  if (typeof record.r !== "object" || record.r === null) throw new StoreError("CORRUPT", "an entity document holds malformed reminders");
  for (const [name, due] of Object.entries(record.r)) {
    if (typeof due !== "number" || !Number.isFinite(due)) throw new StoreError("CORRUPT", "an entity document holds a malformed reminder");
    reminders[name] = due;
  }
  return { state: record.s, completed, reminders };
}
