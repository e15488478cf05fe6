/**
 * The headers that address an entity and name a call for retries, on the
 * edge's HTTP calls: `Amoeba-Entity: <key>` reaches one entity of an entity
 * type (docs/entities.md), `Idempotency-Key: <key>` (the IETF httpapi
 * draft's header) makes a retried request answer from the first one's
 * record instead of running again. Both are percent-decoded, so that keys
 * outside printable ASCII fit in a header.
 */
import type { IncomingMessage } from "node:http";
import type { Meta } from "../rpc/call-options.ts";
import { ENTITY_META, MAX_KEY_LENGTH } from "../rpc/keyed-meta.ts";
import { EdgeFailure } from "./errors.ts";

/** The headers, lower-case; pages may send them across origins (cors.ts). */
export const ENTITY_HEADER = "amoeba-entity";
export const IDEMPOTENCY_HEADER = "idempotency-key";

/** What the headers of `request` add to its call. */
export interface KeyedCall {
  /** Metadata to add: the entity key. */
  meta: Meta | undefined;
  idempotencyKey: string | undefined;
}

const NONE: KeyedCall = { meta: undefined, idempotencyKey: undefined };

/** The entity key and idempotency key `request` carries, or a 400 INVALID_ARGUMENT when one is malformed. */
export function keyedCall(request: IncomingMessage): KeyedCall | EdgeFailure {
  const entity = request.headers[ENTITY_HEADER];
  const idempotency = request.headers[IDEMPOTENCY_HEADER];
  if (entity === undefined && idempotency === undefined) return NONE;
  const key = entity === undefined ? undefined : decoded(entity, "Amoeba-Entity");
  if (key instanceof EdgeFailure) return key;
  const idempotencyKey = idempotency === undefined ? undefined : decoded(idempotency, "Idempotency-Key");
  if (idempotencyKey instanceof EdgeFailure) return idempotencyKey;
  return { meta: key === undefined ? undefined : { [ENTITY_META]: key }, idempotencyKey };
}

function decoded(value: string | string[], header: string): string | EdgeFailure {
  if (Array.isArray(value)) return new EdgeFailure(400, "INVALID_ARGUMENT", `${header} may be sent once`);
  let key: string;
  try {
    key = value.includes("%") ? decodeURIComponent(value) : value;
  } catch {
    return new EdgeFailure(400, "INVALID_ARGUMENT", `${header} is not valid percent-encoded UTF-8`);
  }
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return new EdgeFailure(400, "INVALID_ARGUMENT", `${header} takes 1 to ${MAX_KEY_LENGTH} characters`);
  return key;
}
