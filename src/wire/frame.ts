/**
 * Frame kinds and body shapes of the Amoeba wire protocol (see docs/protocol.md).
 *
 * A frame is `kind`, a call `id` (0 for connection-level frames) and a body.
 * Bodies are small tuples rather than keyed objects: they are encoded on
 * every call, and tuples are both smaller and faster to encode.
 */

/** The protocol version spoken by this build; sent in HELLO. */
export const PROTOCOL_VERSION = 1;

/** The protocol name sent in HELLO, so that a stray client of another protocol is told apart. */
export const PROTOCOL_NAME = "amoeba";

/**
 * The status code sent in GOAWAY when a peer broke the protocol: 13, the
 * INTERNAL status of the RPC layer's code table.
 */
export const PROTOCOL_ERROR_CODE = 13;

/**
 * The status code sent in GOAWAY when a peer used more than a limit lets it
 * (connections, buffered bytes, time for a frame): 8, RESOURCE_EXHAUSTED.
 */
export const RESOURCE_EXHAUSTED_CODE = 8;

/** Every frame kind. Numbers are part of the wire format: never renumber. */
export const FrameKind = {
  /** Handshake: protocol version, node identity, served services, limits. */
  Hello: 1,
  /** The sender is closing or draining: no new calls on this connection. */
  GoAway: 2,
  Ping: 3,
  Pong: 4,
  /** The services the sender serves changed. */
  Announce: 5,
  /** The sender holds the cluster key: an HMAC over both HELLOs' nonces (docs/protocol.md). */
  Proof: 6,
  /** Opens a call (any method kind). */
  Call: 16,
  /** Unary or client-stream success: the output and response metadata. */
  Result: 17,
  /** One stream item, in either direction. */
  Item: 18,
  /** End of a stream: from the callee, success with trailers; from the caller, half-close. */
  End: 19,
  /** The call failed (callee to caller). */
  Error: 20,
  /** The caller gave up on the call. */
  Cancel: 21,
  /** Flow control: the sender may receive this many more items. */
  Credit: 22,
  /** Fire-and-forget publish on a topic. */
  Event: 32,
  /** The sender wants events on these topics. */
  Subscribe: 33,
  /** The sender no longer wants events on these topics. */
  Unsubscribe: 34,
} as const;

/** A frame kind number. */
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const KNOWN_KINDS = new Set<number>(Object.values(FrameKind));

/** Whether `kind` is a frame kind this build understands. */
export function isKnownKind(kind: number): kind is FrameKind {
  return KNOWN_KINDS.has(kind);
}

/** One protocol message. `body` is decoded but not yet validated. */
export interface Frame {
  kind: FrameKind;
  id: number;
  body: unknown;
}

/** Metadata: string keys to string values, like HTTP headers. */
export type Meta = Record<string, string>;

/** HELLO body. */
export interface HelloBody {
  proto: string;
  v: number;
  /** Who sends it; `cluster` is the cluster it says it is in (absent from older nodes). */
  node: { id: string; name: string; cluster?: string };
  services: Array<[name: string, version: string]>;
  maxFrame: number;
  /** A fresh random nonce (32 hex digits), sent by a node that holds a cluster key: the other end must PROOF it. */
  nonce?: string;
  /** The dialer's bearer token, when it has one and the connection is encrypted or stays on this machine. */
  token?: string;
}

/** GOAWAY body: a status code number and why. `drain` = finishing in-flight calls. */
export type GoAwayBody = [code: number, message: string, drain: boolean];

/** CALL body. `timeout` is the remaining time in ms (never an absolute time: clocks differ). */
export type CallBody = [
  service: string,
  method: string,
  version: string | null,
  timeout: number | null,
  meta: Meta | null,
  input: unknown,
  credit: number,
  kind: MethodKindCode,
  /** When it was sent, in whole ms on the sender's monotonic clock (its origin is the sender's own): see src/rpc/arrival-lateness.ts. */
  sent?: number,
];

/** The method kind a caller expects, in CALL: lets the callee refuse a mismatch before running anything. */
export const MethodKindCode = { unary: 0, "server-stream": 1, "client-stream": 2, "bidi-stream": 3 } as const;

/** A method kind's number on the wire. */
export type MethodKindCode = (typeof MethodKindCode)[keyof typeof MethodKindCode];

/** RESULT body. */
export type ResultBody = [output: unknown, meta: Meta | null];

/** ERROR body. `unprocessed` = 1 when the callee guarantees no handler ran. */
export type ErrorBody = [
  code: number,
  message: string,
  details: unknown,
  service: string,
  method: string,
  node: string,
  unprocessed: 0 | 1,
  stack: string | null,
];

/** EVENT body. */
export type EventBody = [topic: string, payload: unknown];
