/**
 * Virtual connections over NATS: the Session protocol runs unchanged, its
 * frames travelling as NATS messages between two nodes' inbox subjects.
 *
 * Each node subscribes to one inbox subject, `<prefix>.node.<node id>`. A
 * message on it is an envelope (envelope.ts) and, for data, a slice of the
 * frame stream exactly as it would run over a socket, so the same decoder
 * (and its limits) applies. The switchboard dials (OPEN is a NATS request:
 * no responders fails at once when the node is gone), accepts, and routes
 * each message to its connection (virtual-connection.ts).
 *
 * NATS keeps the order of one publisher's messages on a subject but may lose
 * messages when a server goes away. Connections survive that: each end keeps
 * what the peer has not acknowledged and sends it again, so when the client
 * reconnects (to another server of the cluster, or the same one back) the
 * connections resume where they were, calls in flight included. Only a
 * connection that could not keep its unacknowledged messages, or a client
 * without a server for longer than `SUSPEND_LIMIT_MS`, ends — its calls fail
 * as UNAVAILABLE, and the next calls dial again.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { WireLimits } from "../wire/index.ts";
import { ConnectError, EngineStoppedError, NoRespondersError } from "../transport/errors.ts";
import type { Connection, Listener, Transport } from "../transport/index.ts";
import { AddressError } from "../transport/index.ts";
import type { Logger } from "../logger.ts";
import { acceptedKey, ENVELOPE_SIZE, envelope, FROM_ACCEPTOR, OP_DATA, OP_OPEN, OP_RESET, OP_RESUME, readU32 } from "./envelope.ts";
import { NatsVirtualConnection, type ConnectionCarrier } from "./virtual-connection.ts";

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Node ids are what `randomUUID()` makes; anything else in an address is refused. */
const NODE_ID = /^[0-9a-zA-Z_-]{1,64}$/;

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
export class Switchboard implements Transport, ConnectionCarrier {
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
  /** RESETs held back while disconnected: the client drops what it buffers then. */
  #heldBack: Array<{ subject: string; payload: Uint8Array }> = [];
  /** Ends the connections when the client stays without a server too long. */
  #suspendTimer: NodeJS.Timeout | null = null;
  /** Acknowledges and resends for every connection. */
  #ticker: NodeJS.Timeout | null = null;
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
    this.#ticker = setInterval(() => {
      if (!this.#connected) return;
      const now = Date.now();
      for (const connection of this.#dialed.values()) connection.tick(now);
      for (const connection of this.#accepted.values()) connection.tick(now);
    }, TICK_MS);
    this.#ticker.unref();
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
    if (this.#closed) throw new EngineStoppedError("the NATS engine is stopped");
    const id = this.#allocateId();
    const connection = new NatsVirtualConnection(this, id, false, this.inboxOf(peerId), address);
    // Registered before OPEN leaves: the acceptor's first frames may overtake its answer.
    this.#dialed.set(id, connection);
    const hello = text.encode(JSON.stringify({ inbox: this.inbox, address: this.address }));
    const timeout = options.connectTimeout ?? 10_000;
    const until = Date.now() + timeout;
    try {
      // An OPEN sent while the client reconnects would be lost (it drops what it buffered): wait for the server first.
      if (!this.#connected) await this.whenConnected(timeout);
      const reply = await this.#open(connection.peerInbox, envelope(OP_OPEN, id, 0, 0, hello), until);
      const data = reply.data;
      if (data.length < ENVELOPE_SIZE || data[0] !== (OP_OPEN | FROM_ACCEPTOR) || readU32(data, 1) !== id) {
        const why = data[0] === (OP_RESET | FROM_ACCEPTOR) ? untext.decode(data.subarray(ENVELOPE_SIZE)) : "an answer that is not Amoeba's";
        throw new ConnectError("CONNECT_FAILED", address, `node ${peerId} refused the connection: ${why}`);
      }
    } catch (error) {
      this.#dialed.delete(id);
      connection.forget();
      const message = natsDialMessage(address, error);
      if (error instanceof EngineStoppedError) throw error;
      if (isNoResponders(error)) throw new NoRespondersError(message, error);
      throw new ConnectError(error instanceof ConnectError ? error.code : "CONNECT_FAILED", address, message, error);
    }
    return connection;
  }

  /** Ends every connection with `error`, keeping the inbox. */
  breakAll(error: Error): void {
    for (const connection of [...this.#dialed.values(), ...this.#accepted.values()]) connection.destroy(error);
  }

  /**
   * The client lost its server. Connections wait for the reconnection (what
   * they send meanwhile is kept, to go out then), for up to
   * `SUSPEND_LIMIT_MS`; one that could not keep what it sent ends now. OPENs
   * in flight fail at once (not processed: safe to retry): their answer would
   * never come. Dials wait for the reconnection.
   */
  disconnected(error: Error): void {
    this.#connected = false;
    for (const fail of [...this.#opening]) fail(error);
    for (const connection of [...this.#dialed.values(), ...this.#accepted.values()]) if (!connection.resumable) connection.destroy(error);
    if (this.#suspendTimer) return;
    this.#suspendTimer = setTimeout(() => {
      this.#suspendTimer = null;
      if (!this.#connected) this.breakAll(new Error(`${error.message}, and no NATS server for ${SUSPEND_LIMIT_MS / 1000} s`));
    }, SUSPEND_LIMIT_MS);
    this.#suspendTimer.unref();
  }

  /**
   * The client is connected again: every connection resumes (asks its peer
   * for what it missed, sends again what the peer has not acknowledged), the
   * held-back RESETs go out, waiting dials go on.
   */
  reconnected(): void {
    this.#connected = true;
    if (this.#suspendTimer) clearTimeout(this.#suspendTimer);
    this.#suspendTimer = null;
    const held = this.#heldBack;
    this.#heldBack = [];
    for (const { subject, payload } of held) this.publish(subject, payload);
    for (const connection of [...this.#dialed.values(), ...this.#accepted.values()]) connection.resume();
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
    const stopped = new EngineStoppedError("the NATS engine stopped");
    for (const fail of [...this.#opening]) fail(stopped);
    this.breakAll(stopped);
    this.#heldBack = [];
    if (this.#suspendTimer) clearTimeout(this.#suspendTimer);
    if (this.#ticker) clearInterval(this.#ticker);
    for (const wake of [...this.#reconnectWaiters]) wake();
    this.#reconnectWaiters.clear();
    this.#subscription?.unsubscribe();
  }

  /** A connection ended: forget it (its carrier's side, for NatsVirtualConnection). */
  remove(connection: NatsVirtualConnection): void {
    if (connection.acceptor) {
      if (this.#accepted.get(connection.key) === connection) this.#accepted.delete(connection.key);
    } else if (this.#dialed.get(connection.id) === connection) {
      this.#dialed.delete(connection.id);
    }
  }

  /** Publishes, never throwing (for NatsVirtualConnection): a failed publish is a lost message, which the connection sends again. */
  publish(subject: string, payload: Uint8Array): boolean {
    if (!this.#connected) {
      // The client would drop it at the reconnection. Kept messages go out again then, acks are repeated;
      // a RESET is held (bounded: past this, peers learn of the end from their next message).
      const reset = (payload[0]! & ~FROM_ACCEPTOR) === OP_RESET;
      if (reset && !this.#closed && this.#heldBack.length < MAX_HELD_BACK) this.#heldBack.push({ subject, payload });
      return false;
    }
    try {
      this.nc.publish(subject, payload, { reply: this.inbox });
      return true;
    } catch (error) {
      this.logger.debug({ err: error, subject }, "NATS publish failed");
      return false;
    }
  }

  /** Resolves at once when the client is connected, else once it is again; rejects after `timeout` ms or when the engine stops. */
  whenConnected(timeout: number): Promise<void> {
    if (this.#connected) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        clearTimeout(timer);
        if (this.#closed) reject(new EngineStoppedError("the NATS engine stopped"));
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
      if (!this.#connected) await this.whenConnected(Math.max(1, until - Date.now()));
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
    const ack = readU32(data, 9);
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
      // Tell a live peer that this connection is gone, so that its calls fail now; answer only DATA and RESUME.
      if ((kind === OP_DATA || kind === OP_RESUME) && reply !== undefined && reply.startsWith(`${this.prefix}.node.`)) {
        this.publish(reply, envelope(OP_RESET | (fromAcceptor ? 0 : FROM_ACCEPTOR), id, 0, 0, text.encode("no such connection")));
      }
      return;
    }
    connection.receive(kind, seq, ack, data.subarray(ENVELOPE_SIZE));
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
      msg.respond(envelope(OP_RESET | FROM_ACCEPTOR, id, 0, 0, text.encode(`node ${this.nodeId} does not accept connections`)));
      return;
    }
    const key = acceptedKey(peerInbox, id);
    // The same dialer reusing a number means its old connection is gone.
    this.#accepted.get(key)?.destroy(new Error("the peer opened a new connection under the same number"));
    const connection = new NatsVirtualConnection(this, id, true, peerInbox, peerAddress);
    this.#accepted.set(key, connection);
    msg.respond(envelope(OP_OPEN | FROM_ACCEPTOR, id, 0, 0));
    onConnection(connection);
  }
}

/** How long a dial asks again when NATS answers OPEN with "no responders" (a peer's client may be reconnecting). */
const NO_RESPONDERS_GRACE_MS = 800;

/** How many RESETs a disconnected switchboard keeps for after the reconnection. */
const MAX_HELD_BACK = 100_000;

/** How long connections wait for the client to reconnect before they end. */
const SUSPEND_LIMIT_MS = 10_000;

/** How often connections acknowledge what came in unacknowledged, and resend what went unacknowledged. */
const TICK_MS = 100;


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
