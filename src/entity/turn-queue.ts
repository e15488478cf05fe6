/**
 * The turns of one entity: calls run one at a time, in the order they came
 * (FIFO), except that read-only calls next to each other in the queue run
 * together. A read queued behind a write waits for it, so a stream of reads
 * cannot starve a write. Pure: no timers, no I/O.
 */
import { RpcError } from "../rpc/rpc-error.ts";

/** A write turn runs alone; read turns may run alongside each other between writes. */
export type TurnKind = "write" | "read";

interface Waiting {
  kind: TurnKind;
  start: () => void;
}

/** Options of a {@link TurnQueue}. */
export interface TurnQueueOptions {
  /** Turns waiting at most (running ones not counted); more are refused as unprocessed RESOURCE_EXHAUSTED. Default 1000. */
  maxQueued?: number;
}

/** The turn scheduler of one entity. */
export class TurnQueue {
  readonly #waiting: Waiting[] = [];
  readonly #maxQueued: number;
  #readers = 0;
  #writing = false;
  #idle: (() => void)[] = [];

  constructor(options: TurnQueueOptions = {}) {
    this.#maxQueued = options.maxQueued ?? 1000;
  }

  /** Turns running and waiting. */
  get size(): number {
    return this.#waiting.length + this.#readers + (this.#writing ? 1 : 0);
  }

  /** Whether no turn runs or waits. */
  get idle(): boolean {
    return this.size === 0;
  }

  /**
   * Runs `body` as a turn of `kind` when its time comes; resolves or rejects
   * with what it did. A turn refused because too many wait rejects with an
   * unprocessed RESOURCE_EXHAUSTED RpcError (safe to retry elsewhere or later).
   */
  run<T>(kind: TurnKind, body: () => T | Promise<T>): Promise<T> {
    if (this.#waiting.length >= this.#maxQueued) {
      return Promise.reject(new RpcError("RESOURCE_EXHAUSTED", `more than ${this.#maxQueued} turns wait for this entity`, { unprocessed: true }));
    }
    if (this.#waiting.length === 0 && !this.#writing && (kind === "read" || this.#readers === 0)) return this.#start(kind, body);
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ kind, start: () => this.#start(kind, body).then(resolve, reject) });
      this.#next();
    });
  }

  /** Runs a turn now; its promise settles after the turn ended, so a caller sees the queue as it left it. */
  #start<T>(kind: TurnKind, body: () => T | Promise<T>): Promise<T> {
    if (kind === "write") this.#writing = true;
    else this.#readers++;
    let running: Promise<T>;
    try {
      running = Promise.resolve(body());
    } catch (error) {
      // A body that throws at once ends its turn like one that rejects.
      running = Promise.reject(error);
    }
    return running.then(
      (value) => {
        this.#end(kind);
        return value;
      },
      (error: unknown) => {
        this.#end(kind);
        throw error;
      },
    );
  }

  /** Resolves when no turn runs or waits (at once when idle now). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #end(kind: TurnKind): void {
    if (kind === "write") this.#writing = false;
    else this.#readers--;
    this.#next();
  }

  #next(): void {
    while (this.#waiting.length > 0 && !this.#writing) {
      const head = this.#waiting[0]!;
      if (head.kind === "write" && this.#readers > 0) break;
      this.#waiting.shift();
      head.start();
      if (head.kind === "write") break;
    }
    if (this.idle && this.#idle.length > 0) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const resolve of waiters) resolve();
    }
  }
}
