/**
 * Starts incoming calls only once the whole read batch is decoded. After a
 * pause (SIGSTOP, a long GC) or a partition, a connection's frames arrive in
 * one burst: a CALL and, behind it, the CANCEL its caller sent when it gave up.
 * Started at once, the handler would run (and whatever it does before its first
 * `await` would happen) before the CANCEL is read. Deferred to the end of the
 * event loop's I/O phase, the CANCEL is read first and the handler never
 * starts; likewise when the connection's end is in it. A call whose deadline passed meanwhile — counting the time this
 * process was stalled, during which the frame may have waited unread — is
 * answered DEADLINE_EXCEEDED, unprocessed, without running its handler.
 *
 * Only unary and server-streaming calls are deferred: their whole input is in
 * the CALL frame. Calls that stream input start at once, so that no item is
 * read before there is a handler to take it.
 *
 * @module
 */
import type { IncomingCall } from "./incoming-call.ts";
import { RpcError } from "./rpc-error.ts";

/** A stall shorter than this is the event loop's ordinary jitter, not a pause (ms). */
const STALL_MIN_MS = 200;
/** Frames read this soon after a stall ended may have waited through it (ms). */
const STALL_WINDOW_MS = 250;
const TICK_MS = 50;
let lastTick = 0;
let stallEnd = 0;
let stallLength = 0;
let ticker: NodeJS.Timeout | null = null;

function onTick(): void {
  const now = Date.now();
  const late = now - lastTick - TICK_MS;
  // After a pause the timers may run before the I/O that waited: remember the stall a moment.
  if (late >= STALL_MIN_MS) {
    stallEnd = now;
    stallLength = late;
  }
  lastTick = now;
}

/**
 * How long this process's event loop was stalled just before now (ms; 0 when
 * it ran on time): frames read now may have waited unread that long. A timer
 * that should tick every 50 ms tells; it runs once calls are being served.
 */
export function stalledFor(now = Date.now()): number {
  if (!ticker) {
    lastTick = now;
    ticker = setInterval(onTick, TICK_MS);
    ticker.unref();
    return 0;
  }
  const late = now - lastTick - TICK_MS;
  const current = late >= STALL_MIN_MS ? late : 0;
  const recent = now - stallEnd <= STALL_WINDOW_MS ? stallLength : 0;
  return Math.max(current, recent);
}

/** A connection silent this long (ms) may have been cut off or paused… */
const QUIET_MS = 200;
/** …and the frames read within this long after the silence ended are its burst (ms). */
const BURST_MS = 100;

/** One session's calls read but not started yet. */
export class CallStarts {
  /** When frames last came after a silence. */
  #burstSince = 0;
  /** When the latest frame was read. */
  #readAt = 0;
  #pending: Array<{ call: IncomingCall; input: unknown; waited: number }> = [];
  #scheduled = false;
  /** Wait for the whole burst (two turns), not just the frames of this read. */
  #wholeBurst = false;

  /** A frame was read at `now`; the one before it at `previous`. */
  frameRead(now: number, previous: number): void {
    if (now - previous > QUIET_MS) this.#burstSince = now;
    this.#readAt = now;
  }

  /**
   * Starts `call` once the frames read with it are handled; at once if its
   * input streams. In steady traffic that is the end of this read (a
   * microtask: the hot path pays no turn of the event loop); after a silence
   * of the connection or a stall of this process, the end of the whole burst.
   */
  add(call: IncomingCall, input: unknown, streamsInput: boolean): void {
    const burst = this.#readAt - this.#burstSince < BURST_MS;
    if (streamsInput) {
      call.start(input);
      return;
    }
    const waited = stalledFor(this.#readAt);
    this.#pending.push({ call, input, waited });
    if (burst || waited > 0) this.#wholeBurst = true;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#afterRead());
    }
  }

  #afterRead(): void {
    if (!this.#wholeBurst) {
      this.run();
      return;
    }
    this.#wholeBurst = false;
    setImmediate(afterBatch, this);
  }

  /** @internal Starts what is still wanted. */
  run(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = [];
    const now = Date.now();
    for (const { call, input, waited } of pending) {
      // Cancelled in the same batch, or the connection closed: the caller gave up.
      if (call.settled) continue;
      if (call.deadline !== undefined && call.deadline - waited <= now) {
        call.stop(
          new RpcError("DEADLINE_EXCEEDED", `${call.service}.${call.method}: the deadline passed before the call could start on node ${call.node}; not processed`, {
            service: call.service,
            method: call.method,
            node: call.node,
            unprocessed: true,
          }),
        );
        continue;
      }
      call.start(input);
    }
  }
}

// Two turns: the rest of this read (a CANCEL, the end of the connection) is
// handled in this loop iteration, the closing of a socket in its close phase.
function afterBatch(starts: CallStarts): void {
  setImmediate(flush, starts);
}

function flush(starts: CallStarts): void {
  starts.run();
}
