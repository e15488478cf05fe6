/**
 * The live entities of one node: an activation per key, made on the key's
 * first call (its state loaded), turns through the key's {@link TurnQueue},
 * and passivation after an idle time (its state saved first) or on demand (a
 * hand-off). A call that arrives while its key passivates waits for the
 * passivation to end and then activates the key again, so no two
 * activations of one key ever run turns at once in this table. Pure apart
 * from the callbacks: timers are injected.
 */
import { RpcError } from "../rpc/rpc-error.ts";
import { TurnQueue, type TurnKind } from "./turn-queue.ts";

/** Timers and their clock, injected so that tests drive time. */
export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  /** The time in ms, on the clock the timers run by. */
  now(): number;
}

/** The process's own timers (unref'd: an idle table keeps no process alive). */
export const REAL_TIMERS: Timers = {
  set: (callback, ms) => setTimeout(callback, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => performance.now(),
};

/** What a turn's body may ask of the table. */
export interface Turn {
  /**
   * Drops the activation after this turn without passivating it: its state is
   * known to be wrong (a save was refused as stale or conflicting). The next
   * turn activates the key afresh.
   */
  discard(): void;
}

/** Options of an {@link ActivationTable}. */
export interface ActivationTableOptions<A> {
  /** Makes the activation of `key` (loads its state). */
  activate(key: string): Promise<A>;
  /** Ends the activation of `key` (saves its state, releases its lease). */
  passivate(key: string, activation: A): Promise<void>;
  /** Passivate a key after this long without a turn; default 5 minutes. */
  idleMs?: number;
  /** Turns waiting per key at most; default 1000. */
  maxQueuedPerKey?: number;
  /** Told of a failed passivation the idle timer started (a passivation asked for rejects instead). */
  onError?(key: string, error: unknown): void;
  timers?: Timers;
}

interface Entry<A> {
  readonly queue: TurnQueue;
  activation: Promise<A> | undefined;
  /** The activation once made (what `activation` resolved to), so that a turn need not wait for it. */
  ready: A | undefined;
  /** Set by a turn that asked for the activation to be dropped. */
  discarded: boolean;
  /** What every turn of this key may ask of the table. */
  readonly turn: Turn;
  timer: unknown;
  /** When its last turn ended (the timers' clock). */
  lastUsed: number;
  /** Set while the key passivates: new calls wait for it. */
  ending: Promise<void> | undefined;
}

/** A node's activations of one entity type. */
export class ActivationTable<A> {
  readonly #options: ActivationTableOptions<A>;
  readonly #timers: Timers;
  readonly #idleMs: number;
  readonly #entries = new Map<string, Entry<A>>();
  #closed = false;

  constructor(options: ActivationTableOptions<A>) {
    this.#options = options;
    this.#timers = options.timers ?? REAL_TIMERS;
    this.#idleMs = options.idleMs ?? 5 * 60_000;
  }

  /** Keys with an activation (or one being made or ended). */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether `key` has an activation. */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The keys with an activation. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * Runs `body` as a turn of `kind` on the activation of `key`, activating it
   * first when needed. After the table closed, calls are refused as
   * unprocessed UNAVAILABLE.
   */
  call<T>(key: string, kind: TurnKind, body: (activation: A, turn: Turn) => T | Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new RpcError("UNAVAILABLE", "the entity table is closed", { unprocessed: true }));
    const entry = this.#entries.get(key);
    // Bounded: each round waits for one passivation of this key to end.
    if (entry?.ending) return entry.ending.then(() => this.call(key, kind, body));
    return this.#turn(key, entry ?? this.#add(key), kind, body);
  }

  #add(key: string): Entry<A> {
    const entry: Entry<A> = {
      queue: new TurnQueue({ maxQueued: this.#options.maxQueuedPerKey }),
      activation: undefined,
      ready: undefined,
      discarded: false,
      turn: { discard: () => void (entry.discarded = true) },
      timer: undefined,
      lastUsed: 0,
      ending: undefined,
    };
    this.#entries.set(key, entry);
    return entry;
  }

  #turn<T>(key: string, entry: Entry<A>, kind: TurnKind, body: (activation: A, turn: Turn) => T | Promise<T>): Promise<T> {
    const done = entry.queue.run(kind, () => {
      const ready = entry.ready;
      if (ready !== undefined) return this.#run(entry, ready, body);
      return this.#activation(key, entry).then((activation) => this.#run(entry, activation, body));
    });
    const settle = (): void => this.#settled(key, entry);
    done.then(settle, settle);
    return done;
  }

  /** Runs one turn's body; a turn that asked for it drops the activation as it ends. */
  async #run<T>(entry: Entry<A>, activation: A, body: (activation: A, turn: Turn) => T | Promise<T>): Promise<T> {
    try {
      return await body(activation, entry.turn);
    } finally {
      if (entry.discarded) {
        entry.discarded = false;
        entry.activation = undefined;
        entry.ready = undefined;
      }
    }
  }

  /** The activation of `entry`, made on first need; a failed one is forgotten so the next turn tries again. */
  #activation(key: string, entry: Entry<A>): Promise<A> {
    if (entry.activation === undefined) {
      const made = this.#options.activate(key);
      entry.activation = made;
      made.then(
        (activation) => {
          if (entry.activation === made) entry.ready = activation;
        },
        () => {
          if (entry.activation === made) entry.activation = undefined;
        },
      );
    }
    return entry.activation;
  }

  #settled(key: string, entry: Entry<A>): void {
    if (!entry.queue.idle || entry.ending || this.#entries.get(key) !== entry) return;
    // Nothing was ever activated (every activation failed): nothing to keep.
    if (entry.activation === undefined) {
      if (entry.timer !== undefined) this.#timers.clear(entry.timer);
      this.#entries.delete(key);
      return;
    }
    entry.lastUsed = this.#timers.now();
    // One timer per idle time, not one per turn: when it fires early (turns came since), it waits out the rest.
    if (entry.timer === undefined) this.#idleTimer(key, entry, this.#idleMs);
  }

  #idleTimer(key: string, entry: Entry<A>, ms: number): void {
    entry.timer = this.#timers.set(() => {
      entry.timer = undefined;
      if (entry.ending || this.#entries.get(key) !== entry) return;
      // Busy now: the turn in flight sets the idle time going again when it ends.
      if (!entry.queue.idle) return;
      const left = entry.lastUsed + this.#idleMs - this.#timers.now();
      if (left > 0) return this.#idleTimer(key, entry, left);
      this.passivate(key).catch((error: unknown) => this.#options.onError?.(key, error));
    }, ms);
  }

  /**
   * Passivates `key`: turns already queued run first, then its state is saved
   * (the `passivate` callback) and the activation dropped. Calls arriving
   * meanwhile wait and then activate the key again. Resolves at once when the
   * key has no activation.
   */
  passivate(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry) return Promise.resolve();
    if (entry.ending) return entry.ending;
    if (entry.timer !== undefined) {
      this.#timers.clear(entry.timer);
      entry.timer = undefined;
    }
    entry.ending = (async () => {
      try {
        await entry.queue.whenIdle();
        const activation = entry.activation;
        entry.activation = undefined;
        entry.ready = undefined;
        if (activation !== undefined) {
          // An activation that failed has nothing to save.
          const made = await activation.then((value) => ({ value }), () => undefined);
          if (made) await this.#options.passivate(key, made.value);
        }
      } finally {
        this.#entries.delete(key);
      }
    })();
    return entry.ending;
  }

  /** Refuses new calls, then passivates every key (turns in flight finish first). Rejects with the first failed passivation. */
  async close(): Promise<void> {
    this.#closed = true;
    const results = await Promise.allSettled(this.keys().map((key) => this.passivate(key)));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failed) throw failed.reason;
  }
}
