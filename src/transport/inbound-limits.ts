/**
 * Limits on what the connections of one node may hold of it, all together:
 * how many there are, how many bytes of frames not yet complete they buffer,
 * and how long one frame may take to arrive. They stop the attacks that a
 * per-connection limit cannot: many connections, each within its own limits.
 */

/** The node-wide limits of inbound traffic. Each has a default; set them in `startNode({ limits })`. */
export interface InboundLimits {
  /** Accepted connections open at once, all listeners together; past it, a new one is refused (GOAWAY RESOURCE_EXHAUSTED). */
  maxConnections: number;
  /** Accepted TCP connections open at once from one remote IP address. */
  maxConnectionsPerAddress: number;
  /**
   * Bytes of frames that arrived in part, buffered across every connection of
   * the node. Past it, the connection whose partial frame started longest ago
   * is closed (GOAWAY RESOURCE_EXHAUSTED) until the total is under it again.
   */
  maxPendingBytes: number;
  /**
   * Of those, the bytes the connections from one remote IP address may buffer
   * together: one host cannot take the whole of maxPendingBytes from the
   * others. Past it, that host's newest partial frame is cut first.
   */
  maxPendingBytesPerAddress: number;
  /** Time one frame may take to arrive once its first byte came (ms); past it, GOAWAY RESOURCE_EXHAUSTED and close. 0 = no limit. */
  frameTimeout: number;
}

/** Defaults: 4096 connections, 128 per remote address, 64 MiB of partial frames (16 MiB per remote address), 30 s per frame. */
export const DEFAULT_INBOUND_LIMITS: Readonly<InboundLimits> = Object.freeze({
  maxConnections: 4096,
  maxConnectionsPerAddress: 128,
  maxPendingBytes: 64 * 1024 * 1024,
  maxPendingBytesPerAddress: 16 * 1024 * 1024,
  frameTimeout: 30_000,
});

/** Bytes of a partial frame each connection holds outside the node-wide count (16 KiB). */
export const FREE_PENDING_BYTES = 16 * 1024;

/** What the budget needs of a connection: its partial frame, and a way to cut it off. */
export interface BudgetedConnection {
  /** Bytes of the frame in progress held now. */
  readonly pendingBytes: number;
  /** When the frame in progress started to arrive (ms, `Date.now()`). */
  readonly partialSince: number;
  /** The remote IP address it came from, or null (a Unix socket). */
  readonly remoteHost: string | null;
  /** Drops the partial frame, tells the peer why, and closes. */
  cutOff(message: string): void;
}

/**
 * One node's account of its connections. Connections are counted when
 * accepted; a connection reports its partial frame after every chunk it
 * reads. One timer, running only while some frame is incomplete, closes the
 * connections whose frame is overdue.
 */
export class InboundBudget {
  readonly limits: Readonly<InboundLimits>;
  #connections = 0;
  readonly #perAddress = new Map<string, number>();
  #pendingBytes = 0;
  /** The counted bytes of partial frames, by remote host. */
  readonly #pendingByHost = new Map<string, number>();
  /** Connections holding a partial frame, with the bytes counted for each (past the free allowance). */
  readonly #partial = new Map<BudgetedConnection, number>();
  #timer: NodeJS.Timeout | null = null;

  constructor(limits: Partial<InboundLimits> = {}) {
    this.limits = Object.freeze({ ...DEFAULT_INBOUND_LIMITS, ...definedOnly(limits) });
  }

  /** Accepted connections open now. */
  get connections(): number {
    return this.#connections;
  }

  /** Bytes of partial frames buffered now, over every connection. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Admits an accepted connection from `host` (null for a Unix socket, which
   * has no remote address). Returns the function that releases it on close,
   * or the reason it is refused.
   */
  admit(host: string | null): (() => void) | string {
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    if (this.#connections >= maxConnections) return `this node has ${maxConnections} connections open, its limit (maxConnections)`;
    const key = host === null ? null : normalizeHost(host);
    const fromHost = key === null ? 0 : (this.#perAddress.get(key) ?? 0);
    if (key !== null && fromHost >= maxConnectionsPerAddress) {
      return `${key} has ${maxConnectionsPerAddress} connections open to this node, the limit per address (maxConnectionsPerAddress)`;
    }
    this.#connections++;
    if (key !== null) this.#perAddress.set(key, fromHost + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#connections--;
      if (key === null) return;
      const left = (this.#perAddress.get(key) ?? 1) - 1;
      if (left === 0) this.#perAddress.delete(key);
      else this.#perAddress.set(key, left);
    };
  }

  /**
   * Records what `connection` holds of a partial frame now (0 once it has none
   * or closed). The first {@link FREE_PENDING_BYTES} of each are not counted:
   * a small frame cut in two by a read boundary is ordinary traffic, and must
   * not be refused because big ones filled the budget.
   */
  account(connection: BudgetedConnection, held: number): void {
    const before = this.#partial.get(connection);
    if (held === 0) {
      if (before !== undefined) this.#forget(connection);
      return;
    }
    const counted = held > FREE_PENDING_BYTES ? held - FREE_PENDING_BYTES : 0;
    this.#count(connection, counted - (before ?? 0));
    this.#partial.set(connection, counted);
    const host = connection.remoteHost === null ? null : normalizeHost(connection.remoteHost);
    if (counted > 0 && host !== null && (this.#pendingByHost.get(host) ?? 0) > this.limits.maxPendingBytesPerAddress) this.#shedHost(host);
    if (counted > 0 && this.#pendingBytes > this.limits.maxPendingBytes) this.#shed();
    if (this.#timer === null && this.limits.frameTimeout > 0) this.#startTimer();
  }

  // The newest partial frames go first, as a full queue refuses newcomers:
  // cutting the oldest instead would let a peer that opens connection after
  // connection make the node read (and collect) every byte it sends, which
  // costs the other callers more than it saves them. Peers that hold their
  // frames are cut by frameTimeout.
  #shed(): void {
    const limit = this.limits.maxPendingBytes;
    const newestFirst = [...this.#partial].filter(([, counted]) => counted > 0).map(([connection]) => connection);
    newestFirst.sort((a, b) => b.partialSince - a.partialSince);
    for (const connection of newestFirst) {
      if (this.#pendingBytes <= limit) return;
      this.#forget(connection);
      connection.cutOff(`this node buffers over ${limit} bytes of incomplete frames (maxPendingBytes); new ones are refused until it drains`);
    }
  }

  /** One host's share: its newest partial frames go first, as for the whole node. */
  #shedHost(host: string): void {
    const limit = this.limits.maxPendingBytesPerAddress;
    const newestFirst = [...this.#partial]
      .filter(([connection, counted]) => counted > 0 && connection.remoteHost !== null && normalizeHost(connection.remoteHost) === host)
      .map(([connection]) => connection)
      .sort((a, b) => b.partialSince - a.partialSince);
    for (const connection of newestFirst) {
      if ((this.#pendingByHost.get(host) ?? 0) <= limit) return;
      this.#forget(connection);
      connection.cutOff(`${host} buffers over ${limit} bytes of incomplete frames on this node, the limit per address (maxPendingBytesPerAddress); new ones are refused until it drains`);
    }
  }

  /** Adds `delta` counted bytes of `connection` to the node's total and its host's. */
  #count(connection: BudgetedConnection, delta: number): void {
    this.#pendingBytes += delta;
    if (connection.remoteHost === null || delta === 0) return;
    const host = normalizeHost(connection.remoteHost);
    const total = (this.#pendingByHost.get(host) ?? 0) + delta;
    if (total > 0) this.#pendingByHost.set(host, total);
    else this.#pendingByHost.delete(host);
  }

  #forget(connection: BudgetedConnection): void {
    this.#count(connection, -(this.#partial.get(connection) ?? 0));
    this.#partial.delete(connection);
  }

  #startTimer(): void {
    const timeout = this.limits.frameTimeout;
    this.#timer = setInterval(() => {
      const now = Date.now();
      for (const connection of [...this.#partial.keys()]) {
        if (now - connection.partialSince <= timeout) continue;
        this.#forget(connection);
        connection.cutOff(`a frame took over ${timeout} ms to arrive (frameTimeout)`);
      }
      if (this.#partial.size === 0 && this.#timer !== null) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    }, Math.max(10, Math.min(1_000, Math.floor(timeout / 4))));
    this.#timer.unref();
  }
}

const budgets = new WeakMap<object, InboundBudget>();

/**
 * The budget of the connections opened with `limits`: a node passes its one
 * limits object to all its listeners and dials, so they share one budget.
 */
export function budgetFor(limits: Partial<InboundLimits>): InboundBudget {
  let budget = budgets.get(limits);
  if (!budget) {
    budget = new InboundBudget(limits);
    budgets.set(limits, budget);
  }
  return budget;
}

/** `::ffff:10.0.0.5` and `10.0.0.5` are one host. */
function normalizeHost(host: string): string {
  return host.startsWith("::ffff:") ? host.slice(7) : host;
}

function definedOnly(limits: Partial<InboundLimits>): Partial<InboundLimits> {
  const out: Partial<InboundLimits> = {};
  for (const key of Object.keys(DEFAULT_INBOUND_LIMITS) as Array<keyof InboundLimits>) {
    const value = limits[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
