import { FrameKind } from "../wire/index.ts";
import { ArrivalLateness, sentClock } from "./arrival-lateness.ts";
import { CallStarts } from "./call-starts.ts";
import { CallTable } from "./call-table.ts";
import type { CallerInfo } from "./context.ts";
import { DeadlineQueue } from "./deadline-queue.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { readCall } from "./frame-bodies.ts";
import type { CallOwner, IncomingCall, ServingNode } from "./incoming-call.ts";
import { isValidMeta } from "./limits.ts";
import { RpcError } from "./rpc-error.ts";
import { errorToWire } from "./wire-errors.ts";

/** What the calls served on one connection need of its session. */
export interface ServingLine {
  readonly server: ServingNode;
  readonly remoteInfo: CallerInfo;
  readonly backlogHigh: boolean;
  drained(): Promise<void>;
  send(kind: FrameKind, id: number, body: unknown): void;
  /** Ends the connection for a protocol error (a CALL frame that cannot be read). */
  abort(message: string): void;
  /** A served call ended. */
  servedCallEnded(): void;
}

/**
 * The calls the other end of one connection makes here: each CALL checked
 * (its metadata, the connection's limit of calls in flight), handed to the
 * dispatcher, started once its read batch is handled (see CallStarts), and
 * followed by its input, credit and cancellation frames until it ends.
 */
export class ServedCalls implements CallOwner {
  readonly server: ServingNode;
  /** RESULTs of calls served over a connection say how long they took (see docs/protocol.md). */
  readonly timesCalls = true;
  /** The deadlines of these calls that outlive their first turn, under one timer. */
  readonly servedDeadlines = new DeadlineQueue();
  readonly #line: ServingLine;
  readonly #dispatcher: Dispatcher;
  readonly #calls = new CallTable<IncomingCall>();
  readonly #starts = new CallStarts();
  readonly #lateness = new ArrivalLateness();
  #lastRead = 0;

  /** `dispatcher` decides on each call. */
  constructor(line: ServingLine, dispatcher: Dispatcher) {
    this.#line = line;
    this.#dispatcher = dispatcher;
    this.server = line.server;
  }

  get remoteInfo(): CallerInfo {
    return this.#line.remoteInfo;
  }

  get backlogHigh(): boolean {
    return this.#line.backlogHigh;
  }

  /** Calls in flight here. */
  get size(): number {
    return this.#calls.size;
  }

  /** The highest call id read so far: a final GOAWAY tells the other end which of its calls were seen. */
  get lastRead(): number {
    return this.#lastRead;
  }

  drained(): Promise<void> {
    return this.#line.drained();
  }

  send(kind: FrameKind, id: number, body: unknown): void {
    this.#line.send(kind, id, body);
  }

  incomingDone(id: number): void {
    this.#calls.delete(id);
    this.#line.servedCallEnded();
  }

  /** The call `id`, while it runs. */
  get(id: number): IncomingCall | undefined {
    return this.#calls.get(id);
  }

  /** A frame was read at `now`, the one before it at `previous` (calls start after a burst is read whole). */
  frameRead(now: number, previous: number): void {
    this.#starts.frameRead(now, previous);
  }

  /** A CALL frame `id` (an id of the other end's) with `body`. */
  call(id: number, body: unknown): void {
    if (this.#calls.get(id) !== undefined || !Array.isArray(body) || body.length < 7) {
      this.#line.abort(`malformed CALL frame (id ${id})`);
      return;
    }
    if (id > this.#lastRead) this.#lastRead = id;
    // When it was sent (the sender's clock), where the caller says: a CALL that waited loses that much of its deadline.
    const sent = body[8];
    const arrived = readCall(id, body, typeof sent === "number" && Number.isFinite(sent) ? this.#lateness.of(sent, sentClock()) : 0);
    if (arrived === null) {
      this.#line.abort(`malformed CALL frame (id ${id})`);
      return;
    }
    const { service, method, meta } = arrived;
    const { limits, nodeName } = this.server;
    if (meta !== null && !isValidMeta(meta, limits.maxMetaSize, limits.maxMetaEntries)) {
      const where = { service, method, node: nodeName, unprocessed: true };
      this.#refuse(id, new RpcError("INVALID_ARGUMENT", `${service}.${method}: metadata must map strings to strings, within ${limits.maxMetaSize} bytes and ${limits.maxMetaEntries} entries`, where));
      return;
    }
    if (this.#calls.size >= limits.maxConcurrentCalls) {
      const where = { service, method, node: nodeName, unprocessed: true };
      const message = `node ${nodeName} has ${limits.maxConcurrentCalls} calls in flight on this connection; not processed — retry later`;
      this.#refuse(id, new RpcError("RESOURCE_EXHAUSTED", message, where));
      return;
    }
    const call = this.#dispatcher.accept(this, arrived);
    if (call instanceof RpcError) {
      this.#refuse(id, call);
      return;
    }
    this.#calls.set(id, call);
    this.#starts.add(call, arrived.input, call.kind === "client-stream" || call.kind === "bidi-stream");
  }

  /** Ends every call with `error`, sent to its caller (a drain that ran out of time). */
  stopAll(error: RpcError): void {
    for (const call of [...this.#calls.values()]) call.stop(error);
  }

  /** The connection closed: every call is cancelled (its handler's signal fires). */
  cancelAll(error: RpcError): void {
    for (const call of [...this.#calls.values()]) call.cancel(error);
  }

  /** Answers a call that no handler will see. */
  #refuse(id: number, error: RpcError): void {
    this.#line.send(FrameKind.Error, id, errorToWire(error, false));
  }
}
