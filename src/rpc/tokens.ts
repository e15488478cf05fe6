/**
 * Bearer tokens as a node's credential: a dialing node presents one in its
 * HELLO, and the node it dials names who the token belongs to — the
 * principal `token:<name>` of every call on that connection. A token is a
 * password: it is sent only where nobody else can read it (TLS, or this
 * machine), and a table keeps tokens' SHA-256 digests, not the tokens.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { isLoopbackHost } from "../transport/exposure.ts";

/**
 * Names who a token belongs to, or returns undefined for a token this node
 * does not take. Called once per connection, at its handshake; it must not
 * throw (a throw refuses the connection like an unknown token).
 */
export type TokenVerifier = (token: string) => string | undefined;

/** One token a node takes: its owner's name, and the token or (better) its SHA-256 digest in hex. */
export interface TokenEntry {
  /** Who the token belongs to: the caller is the principal `token:<name>`. */
  name: string;
  /** The SHA-256 digest of the token, 64 hex digits ({@link hashToken}). */
  sha256?: string;
  /** The token itself, when keeping it is fine (tests, a secret store that hands it over). */
  token?: string;
}

/** The longest token a HELLO may carry. */
export const MAX_TOKEN_LENGTH = 4096;

/** The SHA-256 digest of a token, in hex: what a token table keeps. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** A new random token (32 bytes, base64url): hard to guess, safe in a header or an environment variable. */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * A verifier over a fixed table of tokens. Each entry gives a name and the
 * token or its digest; names and digests must be unique. Compares digests in
 * constant time, so the time taken says nothing of how close a guess was.
 * Throws TypeError naming the entry that is malformed.
 */
export function tokenTable(entries: readonly TokenEntry[]): TokenVerifier {
  if (!Array.isArray(entries)) throw new TypeError("tokens: a list of { name, sha256 } (or { name, token }) entries");
  const table: Array<{ name: string; digest: Buffer }> = [];
  entries.forEach((entry, index) => {
    const where = `tokens[${index}]`;
    if (typeof entry !== "object" || entry === null) throw new TypeError(`${where}: an object { name, sha256 } or { name, token }`);
    const { name, sha256, token } = entry;
    if (typeof name !== "string" || name === "" || name.length > 128) throw new TypeError(`${where}.name: a non-empty string of at most 128 characters`);
    if ((sha256 === undefined) === (token === undefined)) throw new TypeError(`${where} (${name}): give exactly one of sha256 and token`);
    if (token !== undefined && (typeof token !== "string" || token.length < 16 || token.length > MAX_TOKEN_LENGTH)) {
      throw new TypeError(`${where}.token (${name}): a string of 16 to ${MAX_TOKEN_LENGTH} characters`);
    }
    if (sha256 !== undefined && (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/i.test(sha256))) throw new TypeError(`${where}.sha256 (${name}): 64 hex digits, the SHA-256 of the token`);
    const digest = Buffer.from(sha256 ?? hashToken(token!), "hex");
    if (table.some((other) => other.name === name)) throw new TypeError(`${where}: the name ${name} is given twice`);
    if (table.some((other) => other.digest.equals(digest))) throw new TypeError(`${where} (${name}): the same token as another entry`);
    table.push({ name, digest });
  });
  return (token) => {
    const digest = createHash("sha256").update(token).digest();
    let found: string | undefined;
    // Every entry is compared, found or not: the time does not depend on which one matched.
    for (const entry of table) if (timingSafeEqual(entry.digest, digest)) found = entry.name;
    return found;
  };
}

/**
 * Whether a token may travel on a connection to `remoteAddress`: over TLS,
 * or to this machine (loopback TCP, a Unix socket, in-process). Elsewhere —
 * plain TCP to another host, a NATS engine's subjects — others on the path
 * could read it and call as its owner.
 */
export function tokenMayTravel(secure: boolean, remoteAddress: string): boolean {
  if (secure || remoteAddress.startsWith("unix://") || remoteAddress.startsWith("inproc://")) return true;
  if (!remoteAddress.startsWith("tcp://")) return false;
  const host = remoteAddress.slice("tcp://".length).replace(/:\d+$/, "");
  return isLoopbackHost(host);
}

/** The verifier of a node's `tokens` option: a function as given, a table of entries made one. */
export function tokenVerifierOf(tokens: TokenVerifier | readonly TokenEntry[] | undefined): TokenVerifier | undefined {
  if (tokens === undefined || typeof tokens === "function") return tokens;
  return tokenTable(tokens);
}

/** A node's own `token` option, checked: a string of 16 to {@link MAX_TOKEN_LENGTH} characters. */
export function checkToken(token: string | undefined): string | undefined {
  if (token !== undefined && (typeof token !== "string" || token.length < 16 || token.length > MAX_TOKEN_LENGTH)) {
    throw new TypeError(`token: a string of 16 to ${MAX_TOKEN_LENGTH} characters (newToken() makes one)`);
  }
  return token;
}
