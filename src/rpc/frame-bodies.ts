/** Checks of the bodies of frames from the other end, before a session trusts them. */
import { isNonce } from "./connection-proof.ts";
import { PROTOCOL_NAME, PROTOCOL_VERSION, type HelloBody, type Meta } from "../wire/index.ts";
import type { ArrivedCall } from "./dispatcher.ts";
import { statusFromNumber } from "./status.ts";
import { MAX_TOKEN_LENGTH } from "./tokens.ts";

/** A list of topic names (SUBSCRIBE, UNSUBSCRIBE), at most 10 000. */
export function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= 10_000 && value.every((item) => typeof item === "string");
}

/** A list of `[name, version]` (HELLO, ANNOUNCE), at most 200 000 (as many as a catalog holds; the frame's size bounds it too). */
export function isServiceList(value: unknown): value is Array<[string, string]> {
  return (
    Array.isArray(value) &&
    value.length <= 200_000 &&
    value.every((item) => Array.isArray(item) && typeof item[0] === "string" && typeof item[1] === "string")
  );
}

/**
 * The call a CALL frame's body `[service, method, version, timeout, meta,
 * input, credit, kind?, sent?]` asks for, or null when it is malformed; its
 * timeout less `late` ms, how late it arrived (at least 0: a deadline passed).
 * Metadata is checked apart (its limits are the node's).
 */
export function readCall(id: number, body: unknown, late = 0): (ArrivedCall & { readonly input: unknown }) | null {
  if (!Array.isArray(body) || body.length < 7) return null;
  const [service, method, version, timeout, meta, input, credit, kind] = body as unknown[];
  if (
    typeof service !== "string" ||
    typeof method !== "string" ||
    (version !== null && typeof version !== "string") ||
    (timeout !== null && (typeof timeout !== "number" || !(timeout >= 0) || !Number.isFinite(timeout))) ||
    typeof credit !== "number" ||
    !(credit >= 0)
  ) {
    return null;
  }
  const remaining = timeout === null || late === 0 ? timeout : Math.max(0, timeout - late);
  return { id, service, method, version, kind, timeout: remaining, meta: meta as Meta | null, credit, input };
}

/** The other end's node and services from its HELLO, or why the HELLO is refused (a version mismatch starts with "protocol version"). */
export function readHello(body: unknown): { node: { id: string; name: string; cluster?: string }; services: Array<[string, string]>; nonce: string | undefined; token: string | undefined } | string {
  const hello = body as Partial<HelloBody> | null;
  if (typeof hello !== "object" || hello === null || hello.proto !== PROTOCOL_NAME) return "HELLO does not speak the amoeba protocol";
  if (hello.v !== PROTOCOL_VERSION) return `protocol version ${String(hello.v)} is not supported; this node speaks version ${PROTOCOL_VERSION}`;
  const node = hello.node;
  if (typeof node?.id !== "string" || typeof node.name !== "string" || !isServiceList(hello.services)) return "HELLO lacks the node's id, name or services";
  if (hello.nonce !== undefined && !isNonce(hello.nonce)) return "HELLO's nonce is not 32 hex digits";
  if (hello.token !== undefined && (typeof hello.token !== "string" || hello.token.length > MAX_TOKEN_LENGTH)) return `HELLO's token is not a string of at most ${MAX_TOKEN_LENGTH} characters`;
  if (node.cluster !== undefined && (typeof node.cluster !== "string" || node.cluster.length > 128)) return "HELLO's cluster is not a string of at most 128 characters";
  const who = node.cluster === undefined ? { id: node.id, name: node.name } : { id: node.id, name: node.name, cluster: node.cluster };
  return { node: who, services: hello.services, nonce: hello.nonce, token: hello.token };
}

/**
 * What a GOAWAY `[code, message, drain, lastRead?]` says: whether the other
 * end only drains (no new calls) or closes, why, and the highest id of our
 * calls it read (those above were never processed).
 */
export function readGoAway(body: unknown): { drain: boolean; reason: string; lastRead: number | undefined } {
  const [code, message, drain, lastRead] = Array.isArray(body) ? body : [];
  const text = typeof message === "string" ? message : "no reason given";
  const read = typeof lastRead === "number" && Number.isInteger(lastRead) && lastRead >= 0 ? lastRead : undefined;
  if (drain === true) return { drain: true, reason: `the other end is draining: ${text}`, lastRead: read };
  return { drain: false, reason: `the other end closed it: ${typeof code === "number" ? statusFromNumber(code) + ": " : ""}${text}`, lastRead: read };
}
