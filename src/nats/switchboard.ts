/**
 * Virtual connections over NATS: the Session protocol runs unchanged, its
 * frames travelling as NATS messages between two nodes' inbox subjects.
 *
 * Each node subscribes to one inbox subject, `<prefix>.node.<node id>`. A
 * message on it is an envelope — `op: u8 | connection: u32 BE | seq: u32 BE`
 * — and, for data, a slice of the frame stream exactly as it would run over
 * a socket, so the same decoder (and its limits) applies. The top bit of `op`
 * says the message comes from the acceptor's end, so that two nodes that
 * dialed each other with the same connection number are told apart.
 *
 * - OPEN is a NATS request from the dialer (no responders: it fails at once
 *   when the node is gone); the acceptor answers it and the connection is up.
 * - DATA carries the frames one end queued in a turn of the event loop, in as
 *   few messages as the server's max_payload allows.
 * - CLOSE: the sender sent everything; the receiver answers with CLOSE.
 * - RESET: the sender dropped the connection (the payload says why).
 *
 * NATS keeps the order of one publisher's messages on a subject but may lose
 * messages across a reconnect, so every message after OPEN carries a sequence
 * number: a gap ends the connection with an error instead of corrupting the
 * stream, and losing the server ends every connection at once, so calls fail
 * cleanly (and idempotent ones are retried) rather than hang.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { encodeBody, FrameDecoder, HEADER_SIZE, PROTOCOL_ERROR_CODE, FrameKind, WireError, writeHeader, type WireLimits } from "../wire/index.ts";
import type { Connection, ConnectionHandler, Listener, Transport } from "../transport/index.ts";
import { AddressError } from "../transport/index.ts";
import type { Logger } from "../logger.ts";

const OP_OPEN = 1;
const OP_DATA = 2;
const OP_CLOSE = 3;
const OP_RESET = 4;
const FROM_ACCEPTOR = 0x80;
/** Bytes of the envelope before the payload. */
export const ENVELOPE_SIZE = 9;

/** Above this many queued bytes, `drained()` waits for the next flush. */
const HIGH_WATER_MARK = 1024 * 1024;
/** A closing end waits this long for the other end's CLOSE. */
const CLOSE_WAIT_MS = 2_000;
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Node ids are what `randomUUID()` makes; anything else in an address is refused. */
const NODE_ID = /^[0-9a-zA-Z_-]{1,64}$/;

/** Writes an envelope into `target` at 0. */
function writeEnvelope(target: Uint8Array, op: number, connection: number, seq: number): void {
  target[0] = op;
  target[1] = connection >>> 24;
  target[2] = (connection >>> 16) & 0xff;
  target[3] = (connection >>> 8) & 0xff;
  target[4] = connection & 0xff;
  target[5] = seq >>> 24;
  target[6] = (seq >>> 16) & 0xff;
  target[7] = (seq >>> 8) & 0xff;
  target[8] = seq & 0xff;
}

function envelope(op: number, connection: number, seq: number, payload?: Uint8Array): Uint8Array {
  const out = new Uint8Array(ENVELOPE_SIZE + (payload?.length ?? 0));
  writeEnvelope(out, op, connection, seq);
  if (payload) out.set(payload, ENVELOPE_SIZE);
  return out;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

const text = new TextEncoder();
const untext = new TextDecoder("utf-8", { fatal: false });

/** The node id in `nats://<node id>`; an AddressError for anything else. */
export function parseNatsAddress(address: string): string {
  const match = /^nats:\/\/([^/:]+)\/?$/.exec(address);
  if (!match || !NODE_ID.test(match[1]!)) {
    throw new AddressError(`"${address}" is not a NATS node address; use nats://<node id>, as a node on NATS lists in its addresses`);
  }
  return match[1]!;
}

/** Options of a switchboard. */
export interface SwitchboardOptions {
  nc: NatsConnection;
  /** The subject prefix of Amoeba's subjects, e.g. "amoeba". */
  prefix: string;
  nodeId: string;
  limits: WireLimits;
  logger: Logger;
}

/**
 * One node's end of the virtual connections: its inbox subscription, the
 * connections it dialed and accepted, and the Transport for `nats://` that
 * the node listens on and dials with.
 */
export class Switchboard implements Transport {
  readonly nc: NatsConnection;
  readonly prefix: string;
  readonly nodeId: string;
  readonly inbox: string;
  readonly address: string;
  readonly limits: WireLimits;
  readonly logger: Logger;
  readonly #dialed = new Map<number, NatsVirtualConnection>();
  readonly #accepted = new Map<string, NatsVirtualConnection>();
  #nextId = 1;
  #subscription: Subscription | null = null;
  #onConnection: ((connection: Connection) => void) | null = null;
  #closed = false;
  /** Whether the client is connected to a server now (as its status events tell). */
  #connected = true;
  /** Wakes dials waiting for the client to reconnect. */
  #reconnectWaiters = new Set<() => void>();
  /** OPENs in flight, failed at once when the server is lost (their answer would never come). */
  #opening = new Set<(error: Error) => void>();
  /** RESET and CLOSE messages held back while disconnected: the client drops what it buffers then. */
  #heldBack: Array<{ subject: string; payload: Uint8Array }> = [];
  /** Messages that could not be read (garbage, unknown connections): counted, never thrown. */
  rejected = 0;

  constructor(options: SwitchboardOptions) {
    this.nc = options.nc;
    this.prefix = options.prefix;
    this.nodeId = options.nodeId;
    this.inbox = `${options.prefix}.node.${options.nodeId}`;
    this.address = `nats://${options.nodeId}`;
    this.limits = options.limits;
    this.logger = options.logger;
  }

  /** Subscribes to the inbox. */
  start(): void {
    this.#subscription = this.nc.subscribe(this.inbox, {
      callback: (error, msg) => {
        if (error) return;
        try {
          this.#receive(msg);
        } catch (failure) {
          // A message must never take the node down, whatever it holds.
          this.rejected++;
          this.logger.debug({ err: failure }, "NATS inbox message dropped");
        }
      },
    });
  }

  /** The subject of a node's inbox. */
  inboxOf(nodeId: string): string {
    return `${this.prefix}.node.${nodeId}`;
  }

  /** The largest payload the server takes, in bytes. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** Connections open now, both ways (for tests and stats). */
  get size(): number {
    return this.#dialed.size + this.#accepted.size;
  }

  // --- Transport -----------------------------------------------------------

  async listen(address: string, onConnection: (connection: Connection) => void): Promise<Listener> {
    if (address !== "nats://" && parseNatsAddress(address) !== this.nodeId) {
      throw new AddressError(`a node listens on NATS only at its own address ${this.address}, not ${address}`);
    }
    if (this.#onConnection) throw new AddressError(`${this.address} is already listened on`);
    this.#onConnection = onConnection;
    return {
      address: this.address,
      close: async () => {
        if (this.#onConnection === onConnection) this.#onConnection = null;
      },
    };
  }

  async dial(address: string, options: { connectTimeout?: number }): Promise<Connection> {
    const peerId = parseNatsAddress(address);
    if (this.#closed) throw new Error("the NATS engine is stopped");
    const id = this.#allocateId();
    const connection = new NatsVirtualConnection(this, id, false, this.inboxOf(peerId), address);
    // Registered before OPEN leaves: the acceptor's first frames may overtake its answer.
    this.#dialed.set(id, connection);
    const hello = text.encode(JSON.stringify({ inbox: this.inbox, address: this.address }));
    const timeout = options.connectTimeout ?? 10_000;
    const until = Date.now() + timeout;
    try {
      // An OPEN sent while the client reconnects would be lost (it drops what it buffered): wait for the server first.
      if (!this.#connected) await this.#reconnected(timeout);
      const reply = await this.#open(connection.peerInbox, envelope(OP_OPEN, id, 0, hello), until);
      const data = reply.data;
      if (data.length < ENVELOPE_SIZE || data[0] !== (OP_OPEN | FROM_ACCEPTOR) || readU32(data, 1) !== id) {
        const why = data[0] === (OP_RESET | FROM_ACCEPTOR) ? untext.decode(data.subarray(ENVELOPE_SIZE)) : "an answer that is not Amoeba's";
        throw new Error(`node ${peerId} refused the connection: ${why}`);
      }
    } catch (error) {
      this.#dialed.delete(id);
      connection.forget();
      throw new Error(natsDialMessage(address, error), { cause: error });
    }
    return connection;
  }

  /** Ends every connection with `error`, keeping the inbox. */
  breakAll(error: Error): void {
    for (const connection of [...this.#dialed.values(), ...this.#accepted.values()]) connection.destroy(error);
  }

  /**
   * The client lost its server. Messages in flight may be lost, so every
   * connection ends now (its calls fail instead of hanging) and OPENs in
   * flight fail at once (not processed: safe to retry). The RESETs that tell
   * the peers are held back until the client is back: sent now, the client
   * would drop them. Dials wait for the reconnection.
   */
  disconnected(error: Error): void {
    this.#connected = false;
    for (const fail of [...this.#opening]) fail(error);
    this.breakAll(error);
  }

  /** The client is connected again: the held-back RESETs go out, waiting dials go on. */
  reconnected(): void {
    this.#connected = true;
    const held = this.#heldBack;
    this.#heldBack = [];
    for (const { subject, payload } of held) this.publish(subject, payload);
    const waiters = [...this.#reconnectWaiters];
    this.#reconnectWaiters.clear();
    for (const wake of waiters) wake();
  }

  /** Whether the client is connected to a server now. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Stops: every connection is dropped and the inbox unsubscribed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const stopped = new Error("the NATS engine stopped");
    for (const fail of [...this.#opening]) fail(stopped);
    this.breakAll(stopped);
    this.#heldBack = [];
    for (const wake of [...this.#reconnectWaiters]) wake();
    this.#reconnectWaiters.clear();
    this.#subscription?.unsubscribe();
  }

  /** @internal A connection ended: forget it. */
  remove(connection: NatsVirtualConnection): void {
    if (connection.acceptor) {
      if (this.#accepted.get(connection.key) === connection) this.#accepted.delete(connection.key);
    } else if (this.#dialed.get(connection.id) === connection) {
      this.#dialed.delete(connection.id);
    }
  }

  /** @internal Publishes, never throwing: a failed publish is a lost message, which the sequence numbers catch. */
  publish(subject: string, payload: Uint8Array): boolean {
    if (!this.#connected && !this.#closed && isEnding(payload)) {
      // Bounded: past this, peers learn of the end from their next message (answered with RESET).
      if (this.#heldBack.length < MAX_HELD_BACK) this.#heldBack.push({ subject, payload });
      return true;
    }
    try {
      this.nc.publish(subject, payload, { reply: this.inbox });
      return true;
    } catch (error) {
      this.logger.debug({ err: error, subject }, "NATS publish failed");
      return false;
    }
  }

  /** Waits until the client is connected again; rejects after `timeout` ms or when the engine stops. */
  #reconnected(timeout: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        clearTimeout(timer);
        if (this.#closed) reject(new Error("the NATS engine stopped"));
        else resolve();
      };
      const timer = setTimeout(() => {
        this.#reconnectWaiters.delete(wake);
        reject(new Error(`the NATS client is reconnecting and was not connected again within ${timeout} ms`));
      }, timeout);
      this.#reconnectWaiters.add(wake);
    });
  }

  /**
   * Sends OPEN. "No responders" means no subscription for the peer's inbox
   * right now: the node is gone, or its client is reconnecting after losing
   * its server, which takes a moment. So OPEN is asked again for a short,
   * bounded while before the dial fails.
   */
  async #open(subject: string, payload: Uint8Array, until: number): Promise<Msg> {
    const giveUp = Math.min(until, Date.now() + NO_RESPONDERS_GRACE_MS);
    for (let pause = 25; ; pause *= 2) {
      try {
        return await this.#request(subject, payload, Math.max(1, until - Date.now()));
      } catch (error) {
        if (!isNoResponders(error) || Date.now() + pause > giveUp || this.#closed) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      if (!this.#connected) await this.#reconnected(Math.max(1, until - Date.now()));
    }
  }

  /** A NATS request that fails at once when the server is lost meanwhile. */
  #request(subject: string, payload: Uint8Array, timeout: number): Promise<Msg> {
    return new Promise<Msg>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        this.#opening.delete(fail);
        reject(error);
      };
      this.#opening.add(fail);
      this.nc.request(subject, payload, { timeout }).then(
        (reply) => {
          if (settled) return;
          settled = true;
          this.#opening.delete(fail);
          resolve(reply);
        },
        (error: unknown) => fail(error as Error),
      );
    });
  }

  #allocateId(): number {
    for (let tries = 0; tries < 1_000_000; tries++) {
      const id = this.#nextId;
      this.#nextId = (this.#nextId + 1) >>> 0 || 1;
      if (!this.#dialed.has(id)) return id;
    }
    throw new Error("no free NATS connection number");
  }

  #receive(msg: Msg): void {
    const data = msg.data;
    if (data.length < ENVELOPE_SIZE) {
      this.rejected++;
      return;
    }
    const op = data[0]!;
    const id = readU32(data, 1);
    const seq = readU32(data, 5);
    const fromAcceptor = (op & FROM_ACCEPTOR) !== 0;
    const kind = op & ~FROM_ACCEPTOR;
    const reply = msg.reply;
    if (kind === OP_OPEN) {
      if (!fromAcceptor) this.#accept(msg, id);
      else this.rejected++;
      return;
    }
    let connection: NatsVirtualConnection | undefined;
    if (fromAcceptor) {
      connection = this.#dialed.get(id);
      // Anyone may publish on the inbox: a message for our connection must come from its peer.
      if (connection && reply !== connection.peerInbox) connection = undefined;
    } else if (reply !== undefined) {
      connection = this.#accepted.get(acceptedKey(reply, id));
    }
    if (!connection) {
      this.rejected++;
      // Tell a live peer that this connection is gone, so that its calls fail now; never answer a RESET or CLOSE.
      if (kind === OP_DATA && reply !== undefined && reply.startsWith(`${this.prefix}.node.`)) {
        this.publish(reply, envelope(OP_RESET | (fromAcceptor ? 0 : FROM_ACCEPTOR), id, 0, text.encode("no such connection")));
      }
      return;
    }
    connection.receive(kind, seq, data.subarray(ENVELOPE_SIZE));
  }

  #accept(msg: Msg, id: number): void {
    const reply = msg.reply;
    if (reply === undefined) {
      this.rejected++;
      return;
    }
    let hello: { inbox?: unknown; address?: unknown };
    try {
      hello = JSON.parse(untext.decode(msg.data.subarray(ENVELOPE_SIZE))) as typeof hello;
    } catch {
      hello = {};
    }
    const peerInbox = hello?.inbox;
    const peerAddress = hello?.address;
    if (typeof peerInbox !== "string" || !peerInbox.startsWith(`${this.prefix}.node.`) || typeof peerAddress !== "string" || peerAddress.length > 200) {
      this.rejected++;
      return;
    }
    const onConnection = this.#onConnection;
    if (!onConnection || this.#closed) {
      msg.respond(envelope(OP_RESET | FROM_ACCEPTOR, id, 0, text.encode(`node ${this.nodeId} does not accept connections`)));
      return;
    }
    const key = acceptedKey(peerInbox, id);
    // The same dialer reusing a number means its old connection is gone.
    this.#accepted.get(key)?.destroy(new Error("the peer opened a new connection under the same number"));
    const connection = new NatsVirtualConnection(this, id, true, peerInbox, peerAddress);
    this.#accepted.set(key, connection);
    msg.respond(envelope(OP_OPEN | FROM_ACCEPTOR, id, 0));
    onConnection(connection);
  }
}

/** How long a dial asks again when NATS answers OPEN with "no responders" (a peer's client may be reconnecting). */
const NO_RESPONDERS_GRACE_MS = 800;

/** How many RESETs and CLOSEs a disconnected switchboard keeps for after the reconnection. */
const MAX_HELD_BACK = 100_000;

/** Whether a message ends a connection (RESET or CLOSE): worth sending once the client is back. */
function isEnding(payload: Uint8Array): boolean {
  const kind = (payload[0] ?? 0) & ~FROM_ACCEPTOR;
  return payload.length >= ENVELOPE_SIZE && (kind === OP_RESET || kind === OP_CLOSE);
}

function acceptedKey(peerInbox: string, id: number): string {
  return `${peerInbox}\u0000${id}`;
}

/** NATS's answer to a request nobody subscribes to. */
function isNoResponders(error: unknown): boolean {
  const message = (error as Error)?.message ?? String(error);
  return (error as { isNoResponders?: () => boolean })?.isNoResponders?.() === true || /no responders/i.test(message) || (error as Error)?.name === "NoRespondersError";
}

function natsDialMessage(address: string, error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  if (isNoResponders(error)) return `no node answers at ${address} on NATS (no responders): it is not running, or on another NATS system`;
  return `cannot open a connection to ${address} over NATS: ${message}`;
}

/**
 * One virtual connection: an ordered, reliable frame pipe to one peer node,
 * carried by NATS messages. Frames queued in one turn of the event loop go
 * out together, split only where max_payload requires.
 */
export class NatsVirtualConnection implements Connection {
  readonly secure = false;
  readonly key: string;
  readonly #board: Switchboard;
  readonly #decoder: FrameDecoder;
  #handler: ConnectionHandler | null = null;
  /** Frames that arrived before `start`. */
  #early: Array<{ kind: FrameKind; id: number; body: unknown }> | null = [];
  #kinds: FrameKind[] = [];
  #ids: number[] = [];
  #bodies: Uint8Array[] = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  #sendSeq = 0;
  #receiveSeq = 0;
  #closing = false;
  #closed = false;
  #closeError: Error | undefined;
  #closeTimer: NodeJS.Timeout | null = null;
  #drainWaiters: Array<() => void> = [];

  constructor(
    board: Switchboard,
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

  close(): void {
    if (this.#closed || this.#closing) return;
    this.#flush();
    this.#closing = true;
    this.#board.publish(this.peerInbox, this.#envelope(OP_CLOSE));
    // A peer that never answers must not keep the connection forever.
    this.#closeTimer = setTimeout(() => this.#finish(undefined), CLOSE_WAIT_MS);
    this.#closeTimer.unref();
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    this.#dropQueue();
    const reason = error?.message ?? "closed";
    this.#board.publish(this.peerInbox, this.#envelope(OP_RESET, text.encode(reason.slice(0, 512))));
    this.#finish(error);
  }

  /** Ends a connection whose OPEN failed: nothing to tell the peer. */
  forget(): void {
    this.#dropQueue();
    this.#closed = true;
  }

  /** @internal One message for this connection arrived. */
  receive(kind: number, seq: number, payload: Uint8Array): void {
    if (this.#closed) return;
    if (seq !== ((this.#receiveSeq + 1) >>> 0 || 1)) {
      this.destroy(new Error(`messages from ${this.remoteAddress} were lost in NATS (expected #${this.#receiveSeq + 1}, got #${seq})`));
      return;
    }
    this.#receiveSeq = seq;
    switch (kind) {
      case OP_DATA:
        this.#onData(payload);
        return;
      case OP_CLOSE:
        if (!this.#closing) {
          // Everything the peer sent is in; answer, then close as a socket would on EOF.
          this.#flush();
          this.#closing = true;
          this.#board.publish(this.peerInbox, this.#envelope(OP_CLOSE));
        }
        this.#finish(undefined);
        return;
      case OP_RESET:
        this.#finish(new Error(`${this.remoteAddress} dropped the connection: ${untext.decode(payload).slice(0, 512)}`));
        return;
      default:
        this.destroy(new Error(`protocol error: unknown NATS envelope op ${kind}`));
    }
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

  #envelope(op: number, payload?: Uint8Array): Uint8Array {
    this.#sendSeq = (this.#sendSeq + 1) >>> 0 || 1;
    return envelope(op | (this.acceptor ? FROM_ACCEPTOR : 0), this.id, this.#sendSeq, payload);
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const count = this.#kinds.length;
    if (count === 0 || this.#closed || this.#closing) return;
    const total = this.#queuedBytes;
    const kinds = this.#kinds;
    const ids = this.#ids;
    const bodies = this.#bodies;
    this.#kinds = [];
    this.#ids = [];
    this.#bodies = [];
    this.#queuedBytes = 0;
    const chunk = Math.max(1024, this.#board.maxPayload - ENVELOPE_SIZE);
    const op = OP_DATA | (this.acceptor ? FROM_ACCEPTOR : 0);
    if (total <= chunk) {
      // The common case: the whole turn's frames in one message, written in place after the envelope.
      const message = Buffer.allocUnsafe(ENVELOPE_SIZE + total);
      let used = ENVELOPE_SIZE;
      for (let i = 0; i < count; i++) {
        const body = bodies[i]!;
        writeHeader(message, used, kinds[i]!, ids[i]!, body.length);
        used += HEADER_SIZE;
        message.set(body, used);
        used += body.length;
      }
      this.#sendSeq = (this.#sendSeq + 1) >>> 0 || 1;
      writeEnvelope(message, op, this.id, this.#sendSeq);
      this.#board.publish(this.peerInbox, message);
    } else {
      const stream = Buffer.allocUnsafe(total);
      let used = 0;
      for (let i = 0; i < count; i++) {
        const body = bodies[i]!;
        writeHeader(stream, used, kinds[i]!, ids[i]!, body.length);
        used += HEADER_SIZE;
        stream.set(body, used);
        used += body.length;
      }
      for (let offset = 0; offset < total; offset += chunk) {
        const piece = stream.subarray(offset, Math.min(total, offset + chunk));
        this.#board.publish(this.peerInbox, this.#envelope(OP_DATA, piece));
      }
    }
    this.#wakeDrainWaiters();
  };

  #dropQueue(): void {
    this.#kinds = [];
    this.#ids = [];
    this.#bodies = [];
    this.#queuedBytes = 0;
  }

  #finish(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError ??= error;
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.#dropQueue();
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
