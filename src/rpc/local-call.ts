import { FrameKind, type Meta } from "../wire/index.ts";
import type { Release } from "./admission.ts";
import type { CallRequest, CallerInfo } from "./context.ts";
import type { DeadlineQueue } from "./deadline-queue.ts";
import { IncomingCall, type CallOwner, type ServingNode } from "./incoming-call.ts";
import type { Endpoint } from "./registry.ts";
import { RpcError } from "./rpc-error.ts";
import { errorFromWire } from "./wire-errors.ts";

/**
 * A unary call to a handler in this same process, without frames or a
 * connection: the handler's outcome settles the caller's promise directly.
 * Validation, deadlines, cancellation and metadata behave as over a socket.
 */
export class LocalUnaryCall implements CallOwner {
  readonly server: ServingNode;
  readonly remoteInfo: CallerInfo;
  readonly backlogHigh = false;
  readonly timesCalls = false;
  readonly servedDeadlines: DeadlineQueue;
  readonly #request: CallRequest;
  readonly #onDone: () => void;
  readonly #release: Release | null;
  #resolve!: (value: unknown) => void;
  #reject!: (error: RpcError) => void;
  #call: IncomingCall | null = null;

  /** `release` frees the call's admission slots once it is over, however it ends. */
  /** `servedDeadlines`: where the call's deadline is watched should it outlive its first turn (shared by a node's in-process calls). */
  constructor(
    server: ServingNode,
    caller: CallerInfo,
    request: CallRequest,
    servedDeadlines: DeadlineQueue,
    onDone: () => void,
    release: Release | null = null,
  ) {
    this.server = server;
    this.servedDeadlines = servedDeadlines;
    this.remoteInfo = caller;
    this.#request = request;
    this.#onDone = onDone;
    this.#release = release;
  }

  /** Runs the call; the promise settles with the handler's outcome. */
  run(endpoint: Endpoint): Promise<unknown> {
    const request = this.#request;
    request.attempts?.attempt(this.server.nodeName, "inproc://self");
    return new Promise<unknown>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      let timeout: number | null = null;
      if (request.deadline !== undefined && Number.isFinite(request.deadline)) {
        timeout = Math.ceil(request.deadline - Date.now());
        if (timeout <= 0) {
          this.#fail("DEADLINE_EXCEEDED", "deadline passed before the call was made");
          return;
        }
      }
      const signal = request.signal;
      if (signal) {
        if (signal.aborted) {
          this.#fail("CANCELLED", "cancelled before it was made");
          return;
        }
        signal.addEventListener("abort", this, { once: true });
      }
      const parent = request.parent;
      if (parent) {
        let aborted = false;
        parent.onAbort((reason) => {
          if (this.#call === null) aborted = true;
          else this.#cancelledBy(reason);
        });
        if (aborted) {
          this.#fail("CANCELLED", "cancelled before it was made");
          return;
        }
      }
      this.#call = new IncomingCall(this, 0, endpoint, request.meta ?? null, timeout, 0);
      this.#call.start(request.input);
    });
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  send(kind: FrameKind, _id: number, body: unknown): void {
    if (kind === FrameKind.Result) {
      const [output, meta] = body as [unknown, Meta | null];
      if (meta && this.#request.onMeta) this.#request.onMeta(meta);
      this.#resolve(output);
    } else if (kind === FrameKind.Error) {
      this.#reject(errorFromWire(body, { service: this.#request.service, method: this.#request.method, node: this.server.nodeName }));
    }
  }

  incomingDone(): void {
    this.#request.signal?.removeEventListener("abort", this);
    this.#release?.();
    this.#onDone();
  }

  /** @internal The caller's signal aborted (this object is the event listener). */
  handleEvent(): void {
    this.#cancelledBy(this.#request.signal?.reason);
  }

  /** The caller's signal or the call's parent aborted, for `reason`. */
  #cancelledBy(reason: unknown): void {
    const error = this.#error("CANCELLED", reason instanceof Error ? `cancelled by the caller: ${reason.message}` : "cancelled by the caller");
    this.#call?.cancel(error);
    this.#reject(error);
  }

  #fail(code: RpcError["code"], what: string): void {
    this.#reject(this.#error(code, what, true));
    this.#release?.();
    this.#onDone();
  }

  #error(code: RpcError["code"], what: string, unprocessed = false): RpcError {
    const { service, method } = this.#request;
    return new RpcError(code, `${service}.${method} (in-process, node ${this.server.nodeName}): ${what}`, {
      service,
      method,
      node: this.server.nodeName,
      unprocessed,
    });
  }
}
