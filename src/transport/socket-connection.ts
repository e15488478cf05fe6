import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  encodeBody,
  FrameDecoder,
  FrameKind,
  HEADER_SIZE,
  PROTOCOL_ERROR_CODE,
  RESOURCE_EXHAUSTED_CODE,
  WireError,
  writeHeader,
  type WireLimits,
} from "../wire/index.ts";
import type { Connection, ConnectionHandler, PeerCertificate } from "./connection.ts";
import { PeerNotReadingError } from "./errors.ts";
import { budgetFor, type BudgetedConnection, type InboundBudget, type InboundLimits } from "./inbound-limits.ts";

/** Write-side settings of a socket connection. */
export interface SocketConnectionOptions {
  limits: WireLimits & Partial<InboundLimits>;
  /** The node-wide account of partial frames this connection reports to. Default: the one of `limits`. */
  budget?: InboundBudget;
  /** Above this many queued bytes, `drained()` waits. */
  highWaterMark?: number;
  /** Above this many queued bytes the peer is taken to have stopped reading, and the connection is closed. */
  maxBacklog?: number;
}

// Bodies at least this big are written as their own buffer instead of being
// copied into the batch: copying a few bytes is cheaper than a writev entry,
// copying megabytes is not.
const COPY_LIMIT = 16 * 1024;

/**
 * A Connection over a stream socket (TCP, TLS or Unix). Frames queued in the
 * same turn of the event loop are written with one `write`; the decoder
 * refuses oversized frames on their declared length.
 */
export class SocketConnection implements Connection, BudgetedConnection {
  readonly remoteAddress: string;
  /** When the frame in progress started to arrive (ms since the epoch). */
  partialSince = 0;
  /** The remote IP address, for the per-address share of the node's budget (null: a Unix socket). */
  readonly remoteHost: string | null;
  readonly peerCertificate: PeerCertificate | undefined;
  readonly secure: boolean;
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #highWaterMark: number;
  readonly #maxBacklog: number;
  readonly #budget: InboundBudget;
  /** `completedFrames` when the partial frame in progress was first seen. */
  #partialOf = -1;
  #handler: ConnectionHandler | null = null;
  #kinds: FrameKind[] = [];
  #ids: number[] = [];
  #bodies: Uint8Array[] = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  #closed = false;
  #closeError: Error | undefined;
  #drainWaiters: Array<() => void> = [];

  constructor(socket: Socket, remoteAddress: string, secure: boolean, options: SocketConnectionOptions) {
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    this.remoteHost = remoteAddress.startsWith("tcp://") ? (socket.remoteAddress ?? null) : null;
    this.secure = secure;
    this.peerCertificate = secure ? verifiedPeer(socket as TLSSocket) : undefined;
    this.#highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.#maxBacklog = options.maxBacklog ?? Math.max(64 * 1024 * 1024, 4 * options.limits.maxFrameSize);
    // Until the handshake is over, frames are held to the smaller handshake limit.
    this.#decoder = new FrameDecoder(options.limits, (frame) => this.#handler?.frame(frame), true);
    this.#budget = options.budget ?? budgetFor(options.limits);
    socket.setNoDelay?.(true);
    socket.on("error", (error) => {
      this.#closeError ??= error;
    });
    socket.on("close", () => this.#onClose());
    socket.on("drain", () => this.#wakeDrainWaiters());
  }

  start(handler: ConnectionHandler): void {
    this.#handler = handler;
    if (this.#closed) {
      handler.closed(this.#closeError);
      return;
    }
    this.#socket.on("data", (chunk: Buffer) => this.#onData(chunk));
  }

  handshakeDone(): void {
    this.#decoder.handshakeDone();
  }

  get backlog(): number {
    return this.#socket.writableLength + this.#queuedBytes;
  }

  get refusedBytes(): number {
    return this.#socket.writableLength;
  }

  get writeProgress(): number {
    // Bytes whose writes completed, less what the write in progress still holds in the
    // event loop's queue (it shrinks as the kernel takes a large write piece by piece).
    const socket = this.#socket;
    const inLoop = (socket as unknown as { _handle?: { writeQueueSize?: number } })._handle?.writeQueueSize ?? 0;
    return socket.bytesWritten - socket.writableLength - inLoop;
  }

  /** Bytes of the frame in progress held now. */
  get pendingBytes(): number {
    return this.#decoder.pendingBytes;
  }

  /** Drops the partial frame, says why in a GOAWAY (RESOURCE_EXHAUSTED) and closes: a node-wide limit was passed. */
  cutOff(message: string): void {
    if (this.#closed || this.#socket.writableEnded) return;
    this.#stopReading(new Error(message));
    this.send(FrameKind.GoAway, 0, [RESOURCE_EXHAUSTED_CODE, message, false]);
    this.close();
  }

  get bytesIn(): number {
    return this.#socket.bytesRead;
  }

  get bytesOut(): number {
    return this.#socket.bytesWritten;
  }

  send(kind: FrameKind, id: number, body: unknown): void {
    if (this.#closed) return;
    const bytes = encodeBody(body);
    this.#kinds.push(kind);
    this.#ids.push(id);
    this.#bodies.push(bytes);
    this.#queuedBytes += HEADER_SIZE + bytes.length;
    if (this.backlog > this.#maxBacklog) {
      this.destroy(new PeerNotReadingError(`peer at ${this.remoteAddress} stopped reading: over ${this.#maxBacklog} bytes queued`));
      return;
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
  }

  drained(): Promise<void> {
    if (this.#closed || this.backlog <= this.#highWaterMark) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#socket.end();
    // A peer that never closes its side must not keep the socket forever.
    setTimeout(() => this.#socket.destroy(), 2000).unref();
  }

  destroy(error?: Error): void {
    this.#closeError ??= error;
    this.#kinds = [];
    this.#ids = [];
    this.#bodies = [];
    this.#queuedBytes = 0;
    this.#socket.destroy();
  }

  reset(error?: Error): void {
    if (this.#socket.destroyed) return this.destroy(error);
    this.#closeError ??= error;
    this.#kinds = [];
    this.#ids = [];
    this.#bodies = [];
    this.#queuedBytes = 0;
    // SO_LINGER 0: the kernel drops what it still holds for the peer instead of sending it late.
    this.#socket.resetAndDestroy();
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const count = this.#kinds.length;
    if (count === 0 || this.#socket.destroyed) return;
    const kinds = this.#kinds;
    const ids = this.#ids;
    const bodies = this.#bodies;
    this.#kinds = [];
    this.#ids = [];
    this.#bodies = [];
    let batch = Buffer.allocUnsafe(this.#queuedBytes < 64 * 1024 ? this.#queuedBytes : 64 * 1024);
    let used = 0;
    const corked = count > 1;
    if (corked) this.#socket.cork();
    for (let i = 0; i < count; i++) {
      const body = bodies[i]!;
      if (batch.length - used < HEADER_SIZE + (body.length < COPY_LIMIT ? body.length : 0)) {
        if (used > 0) this.#socket.write(batch.subarray(0, used));
        batch = Buffer.allocUnsafe(Math.max(64 * 1024, HEADER_SIZE + body.length));
        used = 0;
      }
      writeHeader(batch, used, kinds[i]!, ids[i]!, body.length);
      used += HEADER_SIZE;
      if (body.length < COPY_LIMIT) {
        batch.set(body, used);
        used += body.length;
      } else {
        this.#socket.write(batch.subarray(0, used));
        this.#socket.write(body);
        batch = batch.subarray(used);
        used = 0;
      }
    }
    if (used > 0) this.#socket.write(batch.subarray(0, used));
    this.#queuedBytes = 0;
    if (corked) this.#socket.uncork();
  };

  #onData(chunk: Buffer): void {
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      // Say why before closing, so a confused client learns what it did wrong.
      this.#stopReading(error);
      this.send(FrameKind.GoAway, 0, [PROTOCOL_ERROR_CODE, `protocol error: ${error.message}`, false]);
      this.close();
      return;
    }
    const pending = this.#decoder.pendingBytes;
    if (pending > 0 && this.#decoder.completedFrames !== this.#partialOf) {
      // Another frame began: its time starts now (a trickle of one frame keeps its start).
      this.#partialOf = this.#decoder.completedFrames;
      this.partialSince = Date.now();
    }
    this.#budget.account(this, pending);
  }

  /** Reads nothing more, and frees the partial frame's bytes. */
  #stopReading(error: Error): void {
    this.#socket.removeAllListeners("data");
    this.#socket.pause();
    this.#closeError ??= error;
    this.#decoder.discard();
    this.#budget.account(this, 0);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#budget.account(this, 0);
    this.#closed = true;
    this.#wakeDrainWaiters();
    this.#handler?.closed(this.#closeError);
  }

  #wakeDrainWaiters(): void {
    if (this.#drainWaiters.length === 0 || (!this.#closed && this.backlog > this.#highWaterMark)) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** The certificate a TLS peer presented, when the handshake verified it against our CA. */
function verifiedPeer(socket: TLSSocket): PeerCertificate | undefined {
  if (!socket.authorized || typeof socket.getPeerCertificate !== "function") return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const altNames = typeof cert.subjectaltname === "string" && cert.subjectaltname !== "" ? cert.subjectaltname.split(", ") : [];
  return Object.freeze({ subject: firstName(cert.subject?.CN), altNames: Object.freeze(altNames), issuer: firstName(cert.issuer?.CN), fingerprint256: cert.fingerprint256 ?? "" });
}

/** A name field of a certificate: one value, or the first of several. */
function firstName(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? "";
}
