import { FrameKind, MethodKindCode, type Meta } from "../wire/index.ts";
import { sentClock } from "./arrival-lateness.ts";
import type { CallStream } from "./call-stream.ts";
import type { CallRequest, CallerInfo, StreamSource } from "./context.ts";
import { CreditGate } from "./credit-gate.ts";
import { ItemQueue } from "./item-queue.ts";
import { RpcError } from "./rpc-error.ts";
import type { DeadlineQueue } from "./deadline-queue.ts";
import type { Limits } from "./limits.ts";
import { errorFromWire } from "./wire-errors.ts";

/** What an outgoing call needs of the session it goes out on. */
export interface CallLine {
  readonly host: { readonly limits: Pick<Limits, "streamWindow"> };
  readonly remoteInfo: CallerInfo;
  readonly backlogHigh: boolean;
  /** The deadlines of the session's calls in flight, under one timer. */
  readonly deadlines: DeadlineQueue;
  drained(): Promise<void>;
  send(kind: FrameKind, id: number, body: unknown): void;
  outgoingDone(id: number): void;
}

/** A callee's time above a day is nonsense, not a measurement. */
const MAX_SERVER_MICROS = 86_400_000_000;

/**
 * One call in flight from this side of a session, of any kind: a promise for
 * one result, a stream of results, or both directions streaming.
 */
export class OutgoingCall implements CallStream<unknown> {
  readonly #session: CallLine;
  readonly #id: number;
  readonly #request: CallRequest;
  #resolve: ((value: unknown) => void) | null = null;
  #reject: ((error: RpcError) => void) | null = null;
  #results: ItemQueue<unknown> | null = null;
  #inputCredit: CreditGate | null = null;
  #timed = false;
  #done = false;
  #sent = false;

  constructor(session: CallLine, id: number, request: CallRequest) {
    this.#session = session;
    this.#id = id;
    this.#request = request;
  }

  /** Sends the call; for unary and client-stream kinds, the promise of its result. */
  start(): Promise<unknown> | undefined {
    const request = this.#request;
    request.attempts?.attempt(this.#session.remoteInfo.name, this.#session.remoteInfo.address);
    const streamsOut = request.kind === "server-stream" || request.kind === "bidi-stream";
    const streamsIn = request.kind === "client-stream" || request.kind === "bidi-stream";
    const promise = streamsOut
      ? undefined
      : new Promise<unknown>((resolve, reject) => {
          this.#resolve = resolve;
          this.#reject = reject;
        });
    const window = this.#session.host.limits.streamWindow;
    if (streamsOut) {
      this.#results = new ItemQueue<unknown>(
        window,
        (credit) => this.#session.send(FrameKind.Credit, this.#id, credit),
        () => this.cancel("the reader stopped reading"),
      );
    }
    let timeout: number | null = null;
    if (request.deadline !== undefined && Number.isFinite(request.deadline)) {
      timeout = Math.ceil(request.deadline - Date.now());
      if (timeout <= 0) {
        this.#settleError(this.#error("DEADLINE_EXCEEDED", "deadline passed before the call was sent", true));
        return promise;
      }
      this.#session.deadlines.add(request.deadline, this);
      this.#timed = true;
    }
    const signal = request.signal;
    if (signal) {
      if (signal.aborted) {
        this.#settleError(this.#error("CANCELLED", "cancelled before it was sent", true));
        return promise;
      }
      signal.addEventListener("abort", this, { once: true });
    }
    // Told at once if the parent is aborted already: the call then ends here, unsent.
    request.parent?.onAbort((reason) => this.#cancelledBy(reason));
    if (this.#done) return promise;
    try {
      this.#session.send(FrameKind.Call, this.#id, [
        request.service,
        request.method,
        request.version,
        timeout,
        request.meta ?? null,
        streamsIn ? undefined : request.input,
        streamsOut ? window : 0,
        MethodKindCode[request.kind],
        sentClock(),
      ]);
    } catch (error) {
      const why = `the input or metadata cannot be sent: ${(error as Error)?.message ?? error}`;
      this.#settleError(this.#error("INVALID_ARGUMENT", why, true));
      return promise;
    }
    this.#sent = true;
    if (streamsIn) {
      this.#inputCredit = new CreditGate(0);
      this.#pumpInput(request.input as StreamSource<unknown>).catch((error) => {
        this.#sendCancel();
        this.#settleError(
          error instanceof RpcError ? error : this.#error("CANCELLED", `the input stream failed: ${(error as Error)?.message ?? error}`, false),
        );
      });
    }
    return promise;
  }

  // --- frames from the callee ----------------------------------------------

  result(body: unknown): void {
    if (this.#done) return;
    if (this.#results || !Array.isArray(body) || (body[1] !== null && typeof body[1] !== "object")) {
      this.#protocolError("RESULT");
      return;
    }
    this.#finish();
    if (body[1] && this.#request.onMeta) this.#request.onMeta(body[1] as Meta);
    const serverMicros = body[2];
    if (typeof serverMicros === "number" && serverMicros >= 0 && serverMicros < MAX_SERVER_MICROS) this.#request.serverMicros = serverMicros;
    this.#resolve?.(body[0]);
  }

  item(value: unknown): void {
    if (this.#done || !this.#results) {
      if (!this.#done) this.#protocolError("ITEM");
      return;
    }
    if (!this.#results.push(value)) {
      this.#sendCancel();
      this.#settleError(this.#error("RESOURCE_EXHAUSTED", "the callee sent more stream items than its credit", false));
    }
  }

  end(body: unknown): void {
    if (this.#done) return;
    if (!this.#results) {
      this.#protocolError("END");
      return;
    }
    this.#finish();
    if (body && typeof body === "object" && this.#request.onMeta) this.#request.onMeta(body as Meta);
    this.#results.end();
  }

  error(body: unknown): void {
    if (this.#done) return;
    const error = errorFromWire(body, {
      service: this.#request.service,
      method: this.#request.method,
      node: this.#session.remoteInfo.name,
    });
    this.#settleError(error);
  }

  credit(n: number): void {
    this.#inputCredit?.add(n);
  }

  /** The connection is gone; `unread` when the other end said it never read this call. */
  lost(reason: string, unread = false): void {
    if (this.#done) return;
    this.#settleError(
      unread
        ? this.#error("UNAVAILABLE", `the other end closed the connection before it read the call (${reason}); not processed — safe to retry`, true)
        : this.#error("UNAVAILABLE", `connection lost before the call completed (${reason}); it may have run, so retry only if the method is idempotent`, false),
    );
  }

  /** Whether the call ended. */
  get settled(): boolean {
    return this.#done;
  }

  // --- CallStream --------------------------------------------------------

  cancel(reason = "cancelled by the caller"): void {
    if (this.#done) return;
    this.#sendCancel();
    this.#settleError(this.#error("CANCELLED", reason, false));
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return this.#results!;
  }

  // --- internals -----------------------------------------------------------

  async #pumpInput(source: StreamSource<unknown>): Promise<void> {
    const gate = this.#inputCredit!;
    for await (const item of source) {
      if (this.#done) return;
      if (!gate.take()) {
        await gate.wait();
        if (this.#done) return;
        gate.take();
      }
      if (this.#session.backlogHigh) {
        await this.#session.drained();
        if (this.#done) return;
      }
      try {
        this.#session.send(FrameKind.Item, this.#id, item);
      } catch (error) {
        throw this.#error("INVALID_ARGUMENT", `a stream item cannot be sent: ${(error as Error)?.message ?? error}`, false);
      }
    }
    if (!this.#done) this.#session.send(FrameKind.End, this.#id, null);
  }

  /** @internal The deadline passed (called by the timer). */
  expire(): void {
    if (this.#done) return;
    this.#sendCancel();
    this.#settleError(this.#error("DEADLINE_EXCEEDED", "deadline exceeded while waiting for the callee", false));
  }

  /** @internal The caller's signal aborted (this object is the event listener: no closure per call). */
  handleEvent(): void {
    this.#cancelledBy(this.#request.signal?.reason);
  }

  /** The caller's signal or the call's parent aborted, for `reason`. */
  #cancelledBy(reason: unknown): void {
    if (!this.#sent) this.#settleError(this.#error("CANCELLED", "cancelled before it was sent", true));
    else this.cancel(reason instanceof Error ? `cancelled by the caller: ${reason.message}` : "cancelled by the caller");
  }

  #sendCancel(): void {
    if (this.#sent && !this.#done) this.#session.send(FrameKind.Cancel, this.#id, null);
  }

  #protocolError(kind: string): void {
    this.#sendCancel();
    this.#settleError(this.#error("INTERNAL", `the callee sent an unexpected ${kind} frame`, false));
  }

  #error(code: RpcError["code"], what: string, unprocessed: boolean): RpcError {
    const { service, method } = this.#request;
    const remote = this.#session.remoteInfo;
    return new RpcError(code, `${service}.${method} at ${remote.address} (node ${remote.name}): ${what}`, {
      service,
      method,
      node: remote.name,
      unprocessed,
    });
  }

  #settleError(error: RpcError): void {
    if (this.#done) return;
    this.#finish();
    this.#reject?.(error);
    this.#results?.fail(error);
  }

  #finish(): void {
    this.#done = true;
    if (this.#timed) {
      this.#timed = false;
      this.#session.deadlines.settled();
    }
    this.#inputCredit?.close();
    this.#request.signal?.removeEventListener("abort", this);
    this.#session.outgoingDone(this.#id);
  }
}
