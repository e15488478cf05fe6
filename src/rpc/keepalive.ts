/**
 * Keepalive on connections, as gRPC does it: when a connection with calls in
 * flight has received nothing for `keepaliveInterval`, a PING goes out; when
 * nothing at all (the PONG or any other frame) arrives within
 * `keepaliveTimeout` after it, the connection is declared dead and destroyed,
 * so its calls fail now (and are retried where safe) and the next ones go to a
 * fresh connection, instead of waiting minutes for TCP to give up on a cut or
 * a half-open link. Idle connections are not pinged (gRPC's default), so the
 * idle timeout still closes them. While the operating system refuses our
 * bytes (its send buffer is full) yet takes some now and then, the peer is
 * alive and slow: that is the write backlog limit's business, and the
 * keepalive waits. A send buffer that takes nothing at all while nothing
 * arrives is silence like any other: a half-open link acknowledges nothing.
 *
 * @module
 */
import { FrameKind } from "../wire/index.ts";
import type { Connection } from "../transport/index.ts";

/** What a keepalive watches: a session's view of its connection. */
export interface KeepaliveSubject {
  /** When a frame last arrived (ms since the epoch). */
  readonly lastActivity: number;
  /** Calls in flight, both ways. */
  readonly activeCalls: number;
  readonly closed: boolean;
  /** The ids of our calls in flight. */
  readonly outgoingIds: Iterable<number>;
}

/** The keepalive settings (in `startNode({ limits })`), ms; an interval of 0 turns keepalive off. */
export interface KeepaliveLimits {
  keepaliveInterval: number;
  keepaliveTimeout: number;
}

/** One shared tick for every connection's keepalive: no timer per connection. */
const TICK_MS = 100;
const watched = new Set<Keepalive>();
let ticker: NodeJS.Timeout | null = null;
let lastTick = 0;

function tick(): void {
  const now = Date.now();
  // Our own process stalled (a pause, a long GC, SIGSTOP): the silence was ours, not the peer's.
  const stalled = now - lastTick > 5 * TICK_MS;
  lastTick = now;
  for (const keepalive of watched) keepalive.check(now, stalled);
  if (watched.size === 0 && ticker) {
    clearInterval(ticker);
    ticker = null;
  }
}

/** The keepalive of one connection; stops by itself once the subject is closed. */
export class Keepalive {
  readonly #subject: KeepaliveSubject;
  readonly #connection: Connection;
  readonly #interval: number;
  readonly #timeout: number;
  /** When the unanswered PING went out, if one is. */
  #pingAt: number | undefined;
  /** The connection's write progress at the last tick. */
  #progress: number | undefined;

  constructor(subject: KeepaliveSubject, connection: Connection, limits: KeepaliveLimits) {
    this.#subject = subject;
    this.#connection = connection;
    this.#interval = limits.keepaliveInterval;
    this.#timeout = limits.keepaliveTimeout;
    if (this.#interval <= 0 || connection.watchesLiveness === true) return;
    watched.add(this);
    if (!ticker) {
      lastTick = Date.now();
      ticker = setInterval(tick, TICK_MS);
      ticker.unref();
    }
  }

  /** Stops watching (the connection closed). */
  stop(): void {
    watched.delete(this);
  }

  /** @internal One tick of the shared timer. */
  check(now: number, stalled: boolean): void {
    const subject = this.#subject;
    if (subject.closed) {
      this.stop();
      return;
    }
    const pingAt = this.#pingAt;
    const connection = this.#connection;
    if ((connection.refusedBytes ?? connection.backlog) > 0) {
      // Our writes wait for the peer to take them. Taking some since the last tick, it is alive
      // and slow: the write backlog limit deals with that, not the keepalive. Frames queued this
      // turn (a call just made, a CANCEL) are no such sign: they go out at its end.
      const progress = connection.writeProgress;
      const moved = progress === undefined || progress !== this.#progress;
      this.#progress = progress;
      if (moved) {
        if (pingAt !== undefined) this.#pingAt = now;
        return;
      }
    }
    if (pingAt !== undefined) {
      // After a stall of our own, what the peer sent meanwhile is still unread (timers run before
      // the sockets are read): the next tick decides, with the whole time counted.
      if (subject.lastActivity >= pingAt) this.#pingAt = undefined;
      else if (!stalled && now - pingAt >= this.#timeout) {
        this.stop();
        const dead = new Error(`keepalive: no answer to a PING within ${this.#timeout} ms, after ${this.#interval} ms without a frame; the connection is dead`);
        // If the link comes back, the operating system would deliver our calls late, their CANCELs maybe
        // a segment behind: a reset drops what it holds. Without one, a CANCEL behind each call at least.
        if (this.#connection.reset) return this.#connection.reset(dead);
        for (const id of subject.outgoingIds) this.#connection.send(FrameKind.Cancel, id, null);
        this.#connection.close();
        this.#connection.destroy(dead);
      }
      return;
    }
    if (subject.activeCalls > 0 && now - subject.lastActivity >= this.#interval && !stalled) {
      this.#pingAt = now;
      this.#connection.send(FrameKind.Ping, 0, null);
    }
  }
}
