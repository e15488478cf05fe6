/**
 * The metadata that addresses a call to one entity and names its logical
 * call: plain request metadata, not identity. A caller who forges them only
 * addresses another key, or has its own call answered from its own record.
 */
import type { Meta } from "../wire/index.ts";

/** The key of the entity a call is for (`entities(node, C).for(key)` sets it). */
export const ENTITY_META = "amoeba-entity";

/**
 * Set on a call a node passed on to the entity's owner: a node that gets
 * one and does not think itself the owner refuses it (unprocessed) instead
 * of passing it on again, so views that disagree cannot bounce a call.
 */
export const ENTITY_FORWARDED_META = "amoeba-entity-forwarded";

/**
 * The idempotency key of a logical call: every attempt of it carries the same
 * one, and a server that completed a call with that key answers the recorded
 * result instead of running the handler again.
 */
export const IDEMPOTENCY_META = "amoeba-idempotency-key";

/** The longest idempotency key or entity key, in characters (stores count UTF-8 bytes; see theirs). */
export const MAX_KEY_LENGTH = 256;

/** Whether a call carries an idempotency key, which makes retrying it safe. */
export function hasIdempotencyKey(meta: Readonly<Meta> | undefined): boolean {
  return meta !== undefined && typeof meta[IDEMPOTENCY_META] === "string";
}
