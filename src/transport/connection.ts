/**
 * The transport seam: what the RPC layer needs from a connection, and nothing
 * more. A transport carries frames in order between two peers; it knows
 * nothing of calls or services. Every transport runs the same conformance
 * suite (test/conformance/).
 */
import type { Frame, FrameKind } from "../wire/index.ts";

/** Receives what arrives on a connection. */
export interface ConnectionHandler {
  /** One frame, in the order sent. */
  frame(frame: Frame): void;
  /** The connection is gone; `error` says why when it was not a clean close. Called once. */
  closed(error?: Error): void;
}

/** The certificate the other end presented over TLS and this end verified: who it is. */
export interface PeerCertificate {
  /** The subject's common name (CN), or "" when it has none. */
  readonly subject: string;
  /** The subject alternative names, as OpenSSL writes them (`DNS:calc.internal`, `IP Address:10.0.0.5`, `URI:spiffe://…`). */
  readonly altNames: readonly string[];
  /** The issuer's common name. */
  readonly issuer: string;
  /** SHA-256 fingerprint, colon-separated hex: pins one certificate. */
  readonly fingerprint256: string;
}

/** One established, ordered, reliable frame pipe to a peer. */
export interface Connection {
  /** Starts delivery to `handler`. Frames that arrived before are held until then. */
  start(handler: ConnectionHandler): void;
  /** Queues a frame. Frames queued in one tick are written together. */
  send(kind: FrameKind, id: number, body: unknown): void;
  /** Bytes queued and not yet taken by the operating system. */
  readonly backlog: number;
  /**
   * Of the backlog, the bytes already handed to the operating system that it
   * has not taken (its send buffer is full: the peer, or the path, is not
   * keeping up) — not the frames queued this turn to go out together. Where
   * absent, the whole backlog counts.
   */
  readonly refusedBytes?: number;
  /**
   * A reading that changes whenever the operating system takes some of the
   * refused bytes (the peer acknowledged some): compare it with an earlier
   * one to tell a slow peer from one that takes nothing at all.
   */
  readonly writeProgress?: number;
  /** Resolves when the backlog is under the low-water mark (at once if it is). */
  drained(): Promise<void>;
  /** Flushes what is queued, then closes. */
  close(): void;
  /** Closes at once, dropping what is queued. */
  destroy(error?: Error): void;
  /**
   * Closes at once with a reset, where the transport has one (TCP): what the
   * operating system still holds for the peer — frames not yet taken by a cut
   * link — is dropped too, never delivered late. Absent: use {@link destroy}.
   */
  reset?(error?: Error): void;
  /**
   * The session's handshake is over: a transport that holds frames to
   * `maxHandshakeFrameSize` until then (sockets) reads full-size frames
   * from the next one on.
   */
  handshakeDone?(): void;
  /** Where the other end is, as an address string (`tcp://…`, `unix://…`, `inproc://…`). */
  readonly remoteAddress: string;
  /** Whether the bytes are encrypted (TLS). */
  readonly secure: boolean;
  /**
   * True when the transport finds a dead peer by itself (an in-process pair
   * cannot go half-open; a NATS virtual connection rides on the NATS client's
   * own pings and reconnects): sessions then add no keepalive of their own.
   */
  readonly watchesLiveness?: boolean;
  /** The other end's verified certificate, when it presented one over TLS (mutual TLS, or a server's). */
  readonly peerCertificate?: PeerCertificate | undefined;
  /** Bytes received and sent so far, where the transport counts bytes (not in-process pairs). */
  readonly bytesIn?: number;
  readonly bytesOut?: number;
}

/** A listening endpoint. */
export interface Listener {
  /** The address it listens on, with the real port when 0 was asked for. */
  readonly address: string;
  /** Stops accepting; established connections are left alone. */
  close(): Promise<void>;
}
