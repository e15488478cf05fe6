/**
 * A node's connections: the sessions accepted and dialed, the links that
 * keep one dialed session per address, the in-process pair for a node's
 * streams to itself, the sweeper of idle connections, and the byte counts.
 */
import type { CallerInfo } from "../rpc/context.ts";
import type { Limits } from "../rpc/limits.ts";
import type { RpcError } from "../rpc/rpc-error.ts";
import { Session, type SessionHost } from "../rpc/session.ts";
import { TopicTable } from "../rpc/topics.ts";
import { createInprocPair } from "../transport/index.ts";
import type { ConnectOptions } from "./options.ts";
import { PeerLink, type LinkHost } from "./peer-link.ts";

/** The sessions and links of one node. */
export class Connections {
  readonly #host: SessionHost & LinkHost;
  readonly #limits: Limits;
  readonly #sessions = new Set<Session>();
  readonly #links = new Map<string, PeerLink>();
  /** The node's subscriptions to events. */
  readonly topics = new TopicTable();
  #local: Session | null = null;
  #localServer: Session | null = null;
  #sweeper: NodeJS.Timeout | null = null;
  /** Bytes of connections that closed, so that the totals never go down. */
  #closedBytes = { in: 0, out: 0 };

  constructor(host: SessionHost & LinkHost, limits: Limits) {
    this.#host = host;
    this.#limits = limits;
  }

  /** Every session, the in-process pair included. */
  get sessions(): ReadonlySet<Session> {
    return this.#sessions;
  }

  /** Sessions to other nodes: neither end of the in-process pair. */
  *remote(): Iterable<Session> {
    for (const session of this.#sessions) if (session !== this.#local && session !== this.#localServer) yield session;
  }

  /** Whether `session` is one end of the node's in-process pair. */
  isLocal(session: Session): boolean {
    return session === this.#local || session === this.#localServer;
  }

  /** Keeps a new session (accepted or dialed) until it closes. */
  track(session: Session): void {
    this.#sessions.add(session);
    session.ready.catch((error: Error) => this.#host.logger.debug({ err: error, remote: session.remoteInfo.address }, "handshake failed"));
  }

  /** Accepts a connection that arrived on a listener. */
  accept(connection: ConstructorParameters<typeof Session>[0]): void {
    this.track(new Session(connection, this.#host, "acceptor"));
  }

  /** A session closed: forget it, keep its bytes. */
  closed(session: Session): void {
    this.#sessions.delete(session);
    this.#closedBytes.in += session.bytesIn;
    this.#closedBytes.out += session.bytesOut;
    if (this.isLocal(session)) {
      this.#local = null;
      this.#localServer = null;
    }
  }

  /** The link to `address`, made on first use with `options`. */
  link(address: string, options: ConnectOptions): PeerLink {
    let link = this.#links.get(address);
    if (!link) {
      link = new PeerLink(this.#host, address, options);
      this.#links.set(address, link);
    }
    return link;
  }

  /** The node's session to itself, for its streaming calls to its own services. */
  localSession(): Session {
    if (this.#local && !this.#local.closed) return this.#local;
    const [near, far] = createInprocPair("inproc://self", "inproc://self");
    this.#localServer = new Session(far, this.#host, "acceptor");
    this.#local = new Session(near, this.#host, "dialer");
    this.#sessions.add(this.#local);
    this.#sessions.add(this.#localServer);
    return this.#local;
  }

  /** Closes the sessions to the node `id` (the look-up declared it dead). */
  closeTo(id: string, reason: string): void {
    for (const session of this.remote()) if (session.remoteInfo.id === id) session.close(reason);
  }

  /** Bytes received and sent so far, closed connections included. */
  bytes(): { in: number; out: number } {
    const bytes = { ...this.#closedBytes };
    for (const session of this.#sessions) {
      bytes.in += session.bytesIn;
      bytes.out += session.bytesOut;
    }
    return bytes;
  }

  /** Sends an event to every connected node that subscribed to its topic. */
  publish(topic: string, payload: unknown): void {
    for (const session of this.remote()) session.publish(topic, payload);
  }

  /** Tells every connected node that this node now wants, or no longer wants, `topic`. */
  updateSubscription(topic: string, subscribed: boolean): void {
    for (const session of this.#sessions) session.updateSubscription(topic, subscribed);
  }

  /** Delivers an event that arrived on `from` to this node's subscribers. */
  deliver(topic: string, payload: unknown, from: CallerInfo, onError: (error: Error) => void): void {
    this.topics.deliver(topic, payload, from.name, onError);
  }

  /** Tells every session what the node serves now. */
  announce(services: Array<[string, string]>): void {
    // Sessions still in their handshake sent the old list in HELLO: they need this too.
    for (const session of this.#sessions) if (!session.closed) session.announce(services);
  }

  /** Starts closing connections idle for longer than the idle timeout. */
  startSweeper(): void {
    const idleTimeout = this.#limits.idleTimeout;
    if (this.#sweeper || idleTimeout === 0) return;
    const every = Math.max(100, Math.min(idleTimeout / 2, 30_000));
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      const subscribed = this.topics.topics().length > 0;
      for (const session of this.remote()) {
        const idle = now - session.lastActivity > idleTimeout;
        if (idle && session.activeCalls === 0 && session.remoteTopics.size === 0 && !subscribed) {
          session.close(`idle for over ${idleTimeout} ms`);
        }
      }
    }, every);
    this.#sweeper.unref();
  }

  /** Says to every session that the node is draining: no new calls, please. */
  goAway(message: string): void {
    for (const session of this.#sessions) session.goAway(message);
  }

  /** Resolves when no call is in flight on any session. */
  idle(): Promise<unknown> {
    return Promise.all([...this.#sessions].map((session) => session.idle()));
  }

  /** Ends every call served on a session with `error` (a drain that ran out of time). */
  stopIncoming(error: RpcError): void {
    for (const session of this.#sessions) session.stopIncoming(error);
  }

  /** Closes every session and waits until they are closed. */
  async closeAll(reason: string): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    const sessions = [...this.#sessions];
    for (const session of sessions) session.close(reason);
    await Promise.all(sessions.map((session) => session.whenClosed));
  }
}
