/**
 * Failures outside a call — dialing, a peer that stops reading, an engine
 * that stopped, nobody answering, a node already closed — as classes with a
 * stable `code` and `unprocessed`, so that callers branch on them instead of
 * parsing messages. A call that fails for one of these reasons fails with an
 * RpcError (UNAVAILABLE, mostly) whose `cause` is the typed error.
 *
 * `instanceof` works across two loaded copies of Amoeba: the classes check a
 * `Symbol.for` brand, not their prototype chain.
 */

/** The codes of {@link AmoebaError}, one per kind of failure. */
export type AmoebaErrorCode =
  /** Nothing listens at the address (ECONNREFUSED, ENOENT for a Unix socket). */
  | "CONNECT_REFUSED"
  /** No connection within the connect timeout. */
  | "CONNECT_TIMEOUT"
  /** The dial failed otherwise: TLS, DNS, a handshake the other end refused. */
  | "CONNECT_FAILED"
  /** The other end stopped reading: more bytes queued for it than the limit allows. */
  | "PEER_NOT_READING"
  /** The engine (NATS) this needs was stopped or lost its server. */
  | "ENGINE_STOPPED"
  /** Nobody is there to answer (NATS: no responders on the subject). */
  | "NO_RESPONDERS"
  /** The node was closed (or is closing) and takes no new work. */
  | "NODE_CLOSED";

const BRAND = Symbol.for("amoeba.error");

/** The base of Amoeba's failures outside a call. */
export class AmoebaError extends Error {
  override readonly name: string = "AmoebaError";
  /** What failed; stable across versions. */
  readonly code: AmoebaErrorCode;
  /** True when whatever was asked for certainly did not happen: safe to try again. */
  readonly unprocessed: boolean;

  constructor(code: AmoebaErrorCode, message: string, options: { unprocessed: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.unprocessed = options.unprocessed;
    Object.defineProperty(this, BRAND, { value: code });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== "object" || value === null || !(BRAND in value)) return false;
    const codes = (this as unknown as { codes?: readonly AmoebaErrorCode[] }).codes;
    return codes === undefined || codes.includes((value as Record<symbol, AmoebaErrorCode>)[BRAND]!);
  }
}

/** What a caller reads of a failed dial: nothing was sent. */
const UNSENT = "; not processed — safe to retry";

/** A dial that failed: refused, timed out, or otherwise. Nothing was sent, so it is always unprocessed. */
export class ConnectError extends AmoebaError {
  static readonly codes: readonly AmoebaErrorCode[] = ["CONNECT_REFUSED", "CONNECT_TIMEOUT", "CONNECT_FAILED"];
  override readonly name = "ConnectError";
  declare readonly code: "CONNECT_REFUSED" | "CONNECT_TIMEOUT" | "CONNECT_FAILED";
  /** The address dialed. */
  readonly address: string;

  constructor(code: "CONNECT_REFUSED" | "CONNECT_TIMEOUT" | "CONNECT_FAILED", address: string, message: string, cause?: unknown) {
    super(code, message, { unprocessed: true, cause });
    this.address = address;
  }

  /** What a dial of `address` that failed with `error` reports: a typed error as it is, else a ConnectError. */
  static from(address: string, error: unknown): AmoebaError {
    if (error instanceof AmoebaError) return error;
    const errno = (error as NodeJS.ErrnoException | undefined)?.code;
    const message = (error as Error | undefined)?.message ?? String(error);
    if (errno === "ECONNREFUSED" || errno === "ENOENT") {
      return new ConnectError("CONNECT_REFUSED", address, `cannot connect to ${address}: ${message}; is a node listening there (amoeba serve … --listen)?${UNSENT}`, error);
    }
    if (errno === "ETIMEDOUT" || /no connection within/.test(message)) return new ConnectError("CONNECT_TIMEOUT", address, `cannot connect to ${address}: ${message}${UNSENT}`, error);
    return new ConnectError("CONNECT_FAILED", address, `cannot connect to ${address}: ${message}${UNSENT}`, error);
  }
}

/** The other end stopped reading; the connection was closed. What was sent may have been processed. */
export class PeerNotReadingError extends AmoebaError {
  static readonly codes: readonly AmoebaErrorCode[] = ["PEER_NOT_READING"];
  override readonly name = "PeerNotReadingError";

  constructor(message: string) {
    super("PEER_NOT_READING", message, { unprocessed: false });
  }
}

/** The engine this needs stopped (or lost its server for too long). */
export class EngineStoppedError extends AmoebaError {
  static readonly codes: readonly AmoebaErrorCode[] = ["ENGINE_STOPPED"];
  override readonly name = "EngineStoppedError";

  constructor(message: string, cause?: unknown) {
    super("ENGINE_STOPPED", message, { unprocessed: true, cause });
  }
}

/** Nobody answered: no node there, or none subscribed. Nothing was processed. */
export class NoRespondersError extends AmoebaError {
  static readonly codes: readonly AmoebaErrorCode[] = ["NO_RESPONDERS"];
  override readonly name = "NoRespondersError";

  constructor(message: string, cause?: unknown) {
    super("NO_RESPONDERS", message, { unprocessed: true, cause });
  }
}

/** The node is closed or closing: it serves, listens and dials no more. */
export class NodeClosedError extends AmoebaError {
  static readonly codes: readonly AmoebaErrorCode[] = ["NODE_CLOSED"];
  override readonly name = "NodeClosedError";

  constructor(node: string) {
    super("NODE_CLOSED", `node ${node} is closed`, { unprocessed: true });
  }
}
