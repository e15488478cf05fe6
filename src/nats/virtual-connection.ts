/**
 * One virtual connection over NATS: an ordered, reliable frame pipe to one
 * peer node, whose frames travel as NATS messages between the two nodes'
 * inboxes (see envelope.ts). The switchboard routes messages to it.
 *
 * NATS keeps the order of one publisher's messages on a subject but may lose
 * messages when a server goes away. So each end keeps what it sent until the
 * peer acknowledges it (acks ride on every message, or go alone when an end
 * has nothing to send), and sends it again when asked (RESUME, after a
 * reconnection or a gap) or when no acknowledgement came for a while. The
 * receiver drops duplicates and waits out gaps, so the frame stream arrives
 * whole, in order, across a change of server.
 */
import { encodeBody, FrameDecoder, HEADER_SIZE, PROTOCOL_ERROR_CODE, FrameKind, WireError, writeHeader, type WireLimits } from "../wire/index.ts";
import { PeerNotReadingError } from "../transport/errors.ts";
import type { Connection, ConnectionHandler } from "../transport/index.ts";
import { ACK_OFFSET, acceptedKey, ENVELOPE_SIZE, envelope, FROM_ACCEPTOR, OP_ACK, OP_CLOSE, OP_DATA, OP_RESET, OP_RESUME, writeEnvelope, writeU32 } from "./envelope.ts";
import { statusNumber } from "../rpc/status.ts";
import { SentWindow } from "./sent-window.ts";

/** Above this many queued bytes, `drained()` waits for the next flush. */
const HIGH_WATER_MARK = 1024 * 1024;
/** A closing end waits this long for the other end's CLOSE. */
const CLOSE_WAIT_MS = 2_000;
/** Past this many bytes unacknowledged, an end stops keeping them: it can no longer resend, and a loss ends the connection. */
const MAX_KEPT_BYTES = 16 * 1024 * 1024;
/** Messages unacknowledged for this long are sent again. */
const RESEND_AFTER_MS = 1_000;
/** A peer that acknowledges nothing for this long is gone. */
const GIVE_UP_AFTER_MS = 30_000;
/** A receiver that sees a gap asks for a resend at most this often, and an end sends its window again on request at most this often. */
const ASK_AGAIN_AFTER_MS = 200;

const text = new TextEncoder();
const untext = new TextDecoder("utf-8", { fatal: false });

/** What a virtual connection needs of its switchboard. */
export interface ConnectionCarrier {
  readonly limits: WireLimits;
  /** The largest payload the server takes, in bytes. */
  readonly maxPayload: number;
  /** Whether the client has a server now. */
  readonly connected: boolean;
  /** Publishes, never throwing; without a server, only RESETs are held for later (kept messages are resent anyway). */
  publish(subject: string, payload: Uint8Array): boolean;
  /** The connection ended: forget it. */
  remove(connection: NatsVirtualConnection): void;
}

/**
 * One virtual connection: an ordered, reliable frame pipe to one peer node,
 * carried by NATS messages. Frames queued in one turn of the event loop go
 * out together, split only where max_payload requires.
 */
export class NatsVirtualConnection implements Connection {
  readonly secure = false;
  /** The NATS client pings its server and reconnects; acknowledgements time out a silent peer. */
  readonly watchesLiveness = true;
  readonly key: string;
  readonly #board: ConnectionCarrier;
  readonly #decoder: FrameDecoder;
  #handler: ConnectionHandler | null = null;
  /** Frames that arrived before `start`. */
  #early: Array<{ kind: FrameKind; id: number; body: unknown }> | null = [];
  readonly #kinds: FrameKind[] = [];
  readonly #ids: number[] = [];
  readonly #bodies: Uint8Array[] = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  #sendSeq = 0;
  #receiveSeq = 0;
  /** What this end sent and the peer has not acknowledged. */
  readonly #sent = new SentWindow();
  /** False once #sent overflowed: what was dropped cannot be sent again. */
  #resumable = true;
  /** The last `ack` this end told the peer. */
  #ackSent = 0;
  /** The peer sent something again: it did not see our ack, so the next tick repeats it. */
  #ackOwed = false;
  #resentAt = 0;
  #askedAt = 0;
  /** The highest id of this end's calls whose CALL frame went into a message. */
  #callQueued = 0;
  /** The same, of messages handed to the client while it had a server: later ones provably never left. */
  #callOut = 0;
  #closing = false;
  #closed = false;
  #closeError: Error | undefined;
  #closeTimer: NodeJS.Timeout | null = null;
  #drainWaiters: Array<() => void> = [];

  constructor(
    board: ConnectionCarrier,
    readonly id: number,
    readonly acceptor: boolean,
    readonly peerInbox: string,
    readonly remoteAddress: string,
  ) {
    this.#board = board;
    this.key = acceptedKey(peerInbox, id);
    this.#decoder = new FrameDecoder(board.limits, (frame) => {
      if (this.#early) this.#early.push(frame);
      else this.#handler?.frame(frame);
    });
  }

  start(handler: ConnectionHandler): void {
    this.#handler = handler;
    const early = this.#early ?? [];
    this.#early = null;
    for (const frame of early) {
      if (this.#closed) break;
      handler.frame(frame);
    }
    if (this.#closed) queueMicrotask(() => handler.closed(this.#closeError));
  }

  get backlog(): number {
    return this.#queuedBytes;
  }

  send(kind: FrameKind, id: number, body: unknown): void {
    if (this.#closed || this.#closing) return;
    const bytes = encodeBody(body);
    this.#kinds.push(kind);
    this.#ids.push(id);
    this.#bodies.push(bytes);
    this.#queuedBytes += HEADER_SIZE + bytes.length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
  }

  drained(): Promise<void> {
    if (this.#closed || this.#queuedBytes <= HIGH_WATER_MARK) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Whether everything unacknowledged is still kept, so the connection survives a change of server. */
  get resumable(): boolean {
    return this.#resumable;
  }

  close(): void {
    if (this.#closed || this.#closing) return;
    this.#flush();
    this.#closing = true;
    this.#sendKept(new Uint8Array(ENVELOPE_SIZE), OP_CLOSE);
    // A peer that never answers must not keep the connection forever.
    this.#closeTimer = setTimeout(() => this.#finish(undefined), CLOSE_WAIT_MS);
    this.#closeTimer.unref();
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    this.#dropQueue();
    const reason = error?.message ?? "closed";
    this.#board.publish(this.peerInbox, this.#control(OP_RESET, text.encode(reason.slice(0, 512))));
    this.#finish(error);
    this.#tellNeverSent(reason);
  }

  /**
   * Calls whose CALL frame was made while the client had no server never
   * left this node: tell the session, as a peer's GOAWAY does with the last
   * call it read, so they fail as not processed (safe to retry) rather than
   * "may have run". Delivered before the session learns of the close.
   */
  #tellNeverSent(reason: string): void {
    const handler = this.#handler;
    if (this.#callQueued === this.#callOut || !handler || this.#early) return;
    handler.frame({ kind: FrameKind.GoAway, id: 0, body: [statusNumber("UNAVAILABLE"), reason, false, this.#callOut] });
  }

  /** Ends a connection whose OPEN failed: nothing to tell the peer. */
  forget(): void {
    this.#dropQueue();
    this.#closed = true;
  }

  /** @internal One message for this connection arrived. */
  receive(kind: number, seq: number, ack: number, payload: Uint8Array): void {
    if (this.#closed) return;
    if (ack !== 0) this.#sent.ack(ack, Date.now());
    switch (kind) {
      case OP_ACK:
        return;
      case OP_RESUME:
        this.#resend(ack);
        return;
      case OP_RESET:
        this.#finish(new Error(`${this.remoteAddress} dropped the connection: ${untext.decode(payload).slice(0, 512)}`));
        return;
      case OP_DATA:
      case OP_CLOSE:
        break;
      default:
        this.destroy(new Error(`protocol error: unknown NATS envelope op ${kind}`));
        return;
    }
    const expected = (this.#receiveSeq + 1) >>> 0 || 1;
    if (seq !== expected) {
      if (seq !== 0 && seq <= this.#receiveSeq) {
        // Sent again after all: the peer missed our ack.
        this.#ackOwed = true;
      } else {
        // A gap: messages were lost. Wait for them, and ask for them now.
        this.#askForResend(Date.now());
      }
      return;
    }
    this.#receiveSeq = seq;
    if (kind === OP_DATA) {
      this.#onData(payload);
      return;
    }
    if (!this.#closing) {
      // Everything the peer sent is in; answer, then close as a socket would on EOF.
      this.#flush();
      this.#closing = true;
      this.#sendKept(new Uint8Array(ENVELOPE_SIZE), OP_CLOSE);
    }
    this.#finish(undefined);
  }

  /**
   * @internal The switchboard's periodic look: acknowledges what came in when
   * nothing went out to carry the ack, and sends again what the peer has not
   * acknowledged for a while (a lost message, or a lost ack).
   */
  tick(now: number): void {
    if (this.#closed) return;
    if (this.#ackOwed || this.#ackSent !== this.#receiveSeq) {
      this.#ackOwed = false;
      this.#board.publish(this.peerInbox, this.#control(OP_ACK));
    }
    if (this.#sent.size === 0) return;
    const waited = now - this.#sent.progressAt;
    if (waited >= GIVE_UP_AFTER_MS) {
      this.destroy(new PeerNotReadingError(`${this.remoteAddress} acknowledged nothing for ${Math.round(waited / 1000)} s`));
    } else if (waited >= RESEND_AFTER_MS && now - this.#resentAt >= RESEND_AFTER_MS) {
      this.#resentAt = now;
      this.#sent.forEach(this.#sendAgain);
    }
  }

  /**
   * @internal The client has a server again: ask the peer for what this end
   * missed meanwhile, and send again what the peer has not acknowledged.
   */
  resume(): void {
    if (this.#closed) return;
    // Everything kept goes out now.
    this.#callOut = this.#callQueued;
    this.#askedAt = Date.now();
    this.#board.publish(this.peerInbox, this.#control(OP_RESUME));
    this.#resentAt = this.#askedAt;
    this.#sent.forEach(this.#sendAgain);
  }

  #onData(payload: Uint8Array): void {
    try {
      this.#decoder.push(payload);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      // Say why before closing, as over a socket, so a confused peer learns what it did wrong.
      this.#closeError ??= error;
      this.send(FrameKind.GoAway, 0, [PROTOCOL_ERROR_CODE, `protocol error: ${error.message}`, false]);
      this.close();
    }
  }

  /** A message outside the sequence (RESET, ACK, RESUME), carrying the ack. */
  #control(op: number, payload?: Uint8Array): Uint8Array {
    this.#ackSent = this.#receiveSeq;
    return envelope(op | (this.acceptor ? FROM_ACCEPTOR : 0), this.id, 0, this.#receiveSeq, payload);
  }

  /** Numbers `message` (its envelope still to write), keeps it until acknowledged, and publishes it. */
  #sendKept(message: Uint8Array, op: number): void {
    if (this.#closed) return;
    this.#sendSeq = (this.#sendSeq + 1) >>> 0 || 1;
    writeEnvelope(message, op | (this.acceptor ? FROM_ACCEPTOR : 0), this.id, this.#sendSeq, this.#receiveSeq);
    this.#ackSent = this.#receiveSeq;
    if (this.#resumable) {
      this.#sent.push(this.#sendSeq, message, Date.now());
      if (this.#sent.bytes > MAX_KEPT_BYTES) {
        this.#resumable = false;
        this.#sent.clear();
      }
    }
    if (!this.#resumable && !this.#board.connected) {
      // Without a server the message goes nowhere, and no copy is left to send again.
      this.destroy(new Error(`lost the NATS server with over ${MAX_KEPT_BYTES} bytes unacknowledged to ${this.remoteAddress}`));
      return;
    }
    this.#board.publish(this.peerInbox, message);
  }

  readonly #sendAgain = (message: Uint8Array): void => {
    writeU32(message, ACK_OFFSET, this.#receiveSeq);
    this.#ackSent = this.#receiveSeq;
    this.#board.publish(this.peerInbox, message);
  };

  /** The peer received up to `ack` and asks for the rest (at most every `ASK_AGAIN_AFTER_MS`: a forged RESUME must not make an end send its window over and over). */
  #resend(ack: number): void {
    const now = Date.now();
    if (this.#sent.size > 0) {
      if (now - this.#resentAt < ASK_AGAIN_AFTER_MS) return;
      this.#resentAt = now;
      this.#sent.forEach(this.#sendAgain);
    } else if (!this.#resumable && ack !== this.#sendSeq) {
      this.destroy(new Error(`messages to ${this.remoteAddress} were lost and no copy was kept to send again`));
    }
  }

  #askForResend(now: number): void {
    if (now - this.#askedAt < ASK_AGAIN_AFTER_MS) return;
    this.#askedAt = now;
    this.#board.publish(this.peerInbox, this.#control(OP_RESUME));
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#kinds.length === 0 || this.#closed || this.#closing) return;
    const total = this.#queuedBytes;
    const chunk = Math.max(1024, this.#board.maxPayload - ENVELOPE_SIZE);
    if (total <= chunk) {
      // The common case: the whole turn's frames in one message, written in place after the envelope.
      const message = Buffer.allocUnsafe(ENVELOPE_SIZE + total);
      this.#takeQueued(message, ENVELOPE_SIZE);
      this.#sendKept(message, OP_DATA);
      this.#noteCallsOut();
    } else {
      const stream = Buffer.allocUnsafe(total);
      this.#takeQueued(stream, 0);
      for (let offset = 0; offset < total; offset += chunk) {
        const piece = stream.subarray(offset, Math.min(total, offset + chunk));
        const message = new Uint8Array(ENVELOPE_SIZE + piece.length);
        message.set(piece, ENVELOPE_SIZE);
        this.#sendKept(message, OP_DATA);
      }
      this.#noteCallsOut();
    }
    this.#wakeDrainWaiters();
  };

  /** Writes the queued frames into `target` from `offset`, and empties the queue (its arrays are reused). */
  #takeQueued(target: Buffer, offset: number): void {
    const kinds = this.#kinds;
    const ids = this.#ids;
    const bodies = this.#bodies;
    let used = offset;
    for (let i = 0; i < kinds.length; i++) {
      const body = bodies[i]!;
      if (kinds[i] === FrameKind.Call && ids[i]! > this.#callQueued) this.#callQueued = ids[i]!;
      writeHeader(target, used, kinds[i]!, ids[i]!, body.length);
      used += HEADER_SIZE;
      target.set(body, used);
      used += body.length;
    }
    this.#dropQueue();
  }

  /** The messages just sent went to the client; with a server, their calls left. */
  #noteCallsOut(): void {
    if (this.#board.connected) this.#callOut = this.#callQueued;
  }

  #dropQueue(): void {
    this.#kinds.length = 0;
    this.#ids.length = 0;
    this.#bodies.length = 0;
    this.#queuedBytes = 0;
  }

  #finish(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError ??= error;
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.#dropQueue();
    this.#sent.clear();
    this.#board.remove(this);
    this.#wakeDrainWaiters();
    const handler = this.#handler;
    if (handler && !this.#early) {
      const reason = this.#closeError;
      queueMicrotask(() => handler.closed(reason));
    }
  }

  #wakeDrainWaiters(): void {
    if (this.#drainWaiters.length === 0) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}