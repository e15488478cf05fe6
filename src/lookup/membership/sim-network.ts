import type { Clock, GossipTransport } from "./types.ts";

/**
 * A deterministic world for the membership protocol: a seeded random source, a
 * clock that only moves when told to, and a network of datagrams with per-link
 * loss, delay, jitter (hence reordering), duplication, partitions and paused
 * nodes. The same seed and the same steps give the same run, so a failure seen
 * once can be replayed, and a thousand nodes fit in one process.
 */

/** A seeded uniform random source in [0, 1) (mulberry32): small, fast, repeatable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/** Simulated time: timers run in order of due time, then of creation, as `advance` moves the clock. */
export class SimClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #heap: Timer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    const timer: Timer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn, live: true };
    this.#push(timer);
    return () => {
      timer.live = false;
    };
  }

  /** Timers waiting (cancelled ones included until their time comes). */
  get pending(): number {
    return this.#heap.length;
  }

  /**
   * Moves time forward by `ms`, running every timer due on the way, in order.
   * Throws after `maxTimers` timers: a protocol that schedules without end at one
   * instant is a bug, not something to wait for.
   */
  advance(ms: number, maxTimers = 50_000_000): number {
    const until = this.#now + Math.max(0, ms);
    let ran = 0;
    while (this.#heap.length > 0 && this.#heap[0]!.at <= until) {
      const timer = this.#pop()!;
      if (!timer.live) continue;
      this.#now = timer.at;
      timer.live = false;
      if (++ran > maxTimers) throw new Error(`more than ${maxTimers} timers in ${ms} ms of simulated time`);
      timer.fn();
    }
    this.#now = until;
    return ran;
  }

  /**
   * Advances in steps of `stepMs` until `done()` holds or `limitMs` passed; returns
   * the simulated time it took, or -1 when the limit passed first.
   */
  runUntil(done: () => boolean, limitMs: number, stepMs = 10): number {
    const start = this.#now;
    while (!done()) {
      if (this.#now - start >= limitMs) return -1;
      this.advance(Math.min(stepMs, limitMs - (this.#now - start)));
    }
    return this.#now - start;
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): Timer | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at !== b.at ? a.at < b.at : a.seq < b.seq;
}

/** How one direction of a link behaves. */
export interface LinkOptions {
  /** Probability a datagram is lost, 0..1. */
  loss: number;
  /** One-way delay in ms. */
  delay: number;
  /** Extra delay, uniform in [0, jitter) ms: datagrams overtake each other. */
  jitter: number;
  /** Probability a datagram arrives twice. */
  duplicate: number;
}

/** Largest datagram the simulated network carries, as UDP over IPv4. */
export const SIM_MAX_DATAGRAM = 65_507;

/** Counters of the simulated network. */
export interface SimNetworkStats {
  sent: number;
  delivered: number;
  lost: number;
  blocked: number;
}

/** A simulated datagram network on a simulated clock. Addresses look like `sim://name`. */
export class SimNetwork {
  readonly clock: SimClock;
  /** The network's own seeded random stream (loss, jitter); nodes should get their own. */
  readonly random: () => number;
  readonly stats: SimNetworkStats = { sent: 0, delivered: 0, lost: 0, blocked: 0 };
  readonly #defaults: LinkOptions;
  readonly #nodes = new Map<string, SimTransport>();
  readonly #links = new Map<string, Partial<LinkOptions>>();
  readonly #blocked = new Set<string>();
  readonly #paused = new Map<string, Array<() => void>>();
  readonly #taps = new Set<(from: string, to: string, bytes: Uint8Array) => void>();
  #count = 0;

  constructor(options: { seed?: number; link?: Partial<LinkOptions>; clock?: SimClock } = {}) {
    this.clock = options.clock ?? new SimClock();
    this.random = seededRandom(options.seed ?? 1);
    this.#defaults = { loss: 0, delay: 1, jitter: 1, duplicate: 0, ...options.link };
  }

  /** A transport at `address` (default `sim://node-<n>`); an address is free again once closed. */
  transport(address = `sim://node-${++this.#count}`): GossipTransport {
    if (this.#nodes.has(address)) throw new Error(`${address} is in use`);
    const transport = new SimTransport(address, (to, bytes) => this.#send(address, to, bytes), () => {
      if (this.#nodes.get(address) === transport) this.#nodes.delete(address);
    });
    this.#nodes.set(address, transport);
    return transport;
  }

  /**
   * A clock for the node at `address`: the shared clock, except that while the
   * node is paused its timers wait, as a stopped process's would.
   */
  clockFor(address: string): Clock {
    return {
      now: () => this.clock.now(),
      setTimer: (delayMs, fn) =>
        this.clock.setTimer(delayMs, () => {
          const held = this.#paused.get(address);
          if (held) held.push(fn);
          else fn();
        }),
    };
  }

  /** Sets how datagrams from `from` to `to` fare (one direction). */
  link(from: string, to: string, options: Partial<LinkOptions>): void {
    this.#links.set(`${from}>${to}`, { ...this.#links.get(`${from}>${to}`), ...options });
  }

  /** Clears every per-link setting. */
  resetLinks(): void {
    this.#links.clear();
  }

  /** Cuts `a` from `b`: both ways, or only datagrams from `a` to `b` when `oneWay`. */
  partition(a: string[], b: string[], options: { oneWay?: boolean } = {}): void {
    for (const x of a) {
      for (const y of b) {
        this.#blocked.add(`${x}>${y}`);
        if (!options.oneWay) this.#blocked.add(`${y}>${x}`);
      }
    }
  }

  /** Removes every partition. */
  heal(): void {
    this.#blocked.clear();
  }

  /**
   * Pauses the node at `address`, as SIGSTOP would: datagrams to it wait, and so
   * do the timers of its `clockFor` clock. `resume` lets everything run in order.
   */
  pause(address: string): void {
    if (!this.#paused.has(address)) this.#paused.set(address, []);
  }

  resume(address: string): void {
    const held = this.#paused.get(address);
    this.#paused.delete(address);
    for (const fn of held ?? []) this.clock.setTimer(0, fn);
  }

  /** Calls `listener` with every datagram sent (before loss); returns a function that stops it. */
  tap(listener: (from: string, to: string, bytes: Uint8Array) => void): () => void {
    this.#taps.add(listener);
    return () => this.#taps.delete(listener);
  }

  /** Sends raw bytes as if from `from` (which need not be a node): for hostile-input tests. */
  inject(from: string, to: string, bytes: Uint8Array): void {
    this.#send(from, to, bytes);
  }

  #send(from: string, to: string, bytes: Uint8Array): void {
    this.stats.sent++;
    for (const tap of this.#taps) tap(from, to, bytes);
    if (bytes.length > SIM_MAX_DATAGRAM) {
      this.stats.lost++;
      return;
    }
    if (this.#blocked.has(`${from}>${to}`)) {
      this.stats.blocked++;
      return;
    }
    const link = { ...this.#defaults, ...this.#links.get(`${from}>${to}`) };
    if (link.loss > 0 && this.random() < link.loss) {
      this.stats.lost++;
      return;
    }
    const copies = link.duplicate > 0 && this.random() < link.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      // A copy: the sender may reuse its buffer, and a receiver must not see later changes.
      const data = Uint8Array.from(bytes);
      const delay = link.delay + (link.jitter > 0 ? this.random() * link.jitter : 0);
      this.clock.setTimer(delay, () => this.#deliver(from, to, data));
    }
  }

  #deliver(from: string, to: string, data: Uint8Array): void {
    const held = this.#paused.get(to);
    if (held) {
      held.push(() => this.#deliver(from, to, data));
      return;
    }
    const node = this.#nodes.get(to);
    if (!node) {
      this.stats.lost++;
      return;
    }
    this.stats.delivered++;
    node.deliver(from, data);
  }
}

class SimTransport implements GossipTransport {
  readonly address: string;
  readonly #send: (to: string, bytes: Uint8Array) => void;
  readonly #onClose: () => void;
  #handler: ((from: string, bytes: Uint8Array) => void) | null = null;
  #closed = false;

  constructor(address: string, send: (to: string, bytes: Uint8Array) => void, onClose: () => void) {
    this.address = address;
    this.#send = send;
    this.#onClose = onClose;
  }

  send(to: string, bytes: Uint8Array): void {
    if (!this.#closed) this.#send(to, bytes);
  }

  onMessage(handler: (from: string, bytes: Uint8Array) => void): void {
    this.#handler = handler;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#onClose();
    }
    return Promise.resolve();
  }

  deliver(from: string, bytes: Uint8Array): void {
    if (!this.#closed) this.#handler?.(from, bytes);
  }
}
