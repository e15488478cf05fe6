import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  encodeBodyInPlace,
  FrameDecoder,
  FrameKind,
  HEADER_SIZE,
  PROTOCOL_ERROR_CODE,
  RESOURCE_EXHAUSTED_CODE,
  WireError,
  type EncodedInPlace,
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
// A turn's batch starts at twice what the last turn wrote, within these bounds:
// an idle connection holds no buffer, a busy one rarely outgrows its batch.
const MIN_BATCH = 1024;
const MAX_BATCH = 64 * 1024;

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
  /** The buffer this turn's frames are written into as they are sent; null until the first. */
  #batch: Buffer | null = null;
  /** Where in `#batch` the bytes not yet cut into `#chunks` begin, and where they end. */
  #batchStart = 0;
  #batchEnd = 0;
  #nextBatchSize = MIN_BATCH;
  /** What the flush writes, in order: cut parts of batches, and large bodies as they are. */
  #chunks: Uint8Array[] = [];
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
    const encoded = encodeBodyInPlace(body);
    const length = encoded.end - encoded.start;
    const copied = length < COPY_LIMIT;
    const at = this.#room(HEADER_SIZE + (copied ? length : 0));
    const batch = this.#batch!;
    writeHeader(batch, at, kind, id, length);
    if (copied) {
      copyBody(encoded, batch, at + HEADER_SIZE);
      this.#batchEnd = at + HEADER_SIZE + length;
    } else {
      this.#batchEnd = at + HEADER_SIZE;
      this.#cut();
      this.#chunks.push(encoded.subarray(encoded.start, encoded.end));
    }
    this.#queuedBytes += HEADER_SIZE + length;
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
    this.#dropQueued();
    this.#socket.destroy();
  }

  reset(error?: Error): void {
    if (this.#socket.destroyed) return this.destroy(error);
    this.#closeError ??= error;
    this.#dropQueued();
    // SO_LINGER 0: the kernel drops what it still holds for the peer instead of sending it late.
    this.#socket.resetAndDestroy();
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#socket.destroyed) return;
    this.#cut();
    const chunks = this.#chunks;
    if (chunks.length === 0) return;
    this.#nextBatchSize = Math.min(MAX_BATCH, Math.max(MIN_BATCH, 2 * this.#queuedBytes));
    this.#chunks = [];
    this.#queuedBytes = 0;
    // The batch's written part now belongs to the socket; the next turn starts a new one.
    this.#batch = null;
    if (chunks.length === 1) {
      this.#socket.write(chunks[0]!);
      return;
    }
    this.#socket.cork();
    for (const chunk of chunks) this.#socket.write(chunk);
    this.#socket.uncork();
  };

  /** Where `size` more bytes go in this turn's batch: its end, or the start of a new batch when they do not fit. */
  #room(size: number): number {
    if (this.#batch === null || this.#batch.length - this.#batchEnd < size) {
      this.#cut();
      this.#batch = Buffer.allocUnsafe(Math.max(this.#nextBatchSize, size));
      this.#batchStart = 0;
      this.#batchEnd = 0;
    }
    return this.#batchEnd;
  }

  /** Ends the batch's current part: its bytes so far become the next chunk to write. */
  #cut(): void {
    if (this.#batch === null || this.#batchEnd === this.#batchStart) return;
    this.#chunks.push(this.#batch.subarray(this.#batchStart, this.#batchEnd));
    this.#batchStart = this.#batchEnd;
  }

  #dropQueued(): void {
    this.#batch = null;
    this.#chunks = [];
    this.#queuedBytes = 0;
  }

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

/** Copies an encoded body into `target` at `offset`: byte by byte when small, where a call into the runtime costs more than the copy. */
function copyBody(encoded: EncodedInPlace, target: Buffer, offset: number): void {
  const { start, end } = encoded;
  if (end - start > 64) {
    encoded.copy(target, offset, start, end);
    return;
  }
  for (let i = start; i < end; i++) target[offset++] = encoded[i]!;
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
