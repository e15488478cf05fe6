import { childLogger, type Logger } from "../logger.ts";
import { FrameKind, type Meta } from "../wire/index.ts";
import type { Release } from "./admission.ts";
import type { CallContext, CallerInfo, Client, ClientOptions } from "./context.ts";
import type { Contract, MethodKind } from "./contract.ts";
import { CreditGate } from "./credit-gate.ts";
import type { DeadlineQueue, Expirable } from "./deadline-queue.ts";
import { ItemQueue } from "./item-queue.ts";
import type { Limits } from "./limits.ts";
import type { Endpoint } from "./registry.ts";
import { RpcError } from "./rpc-error.ts";
import { parseTraceparent } from "./traceparent.ts";
import type { FrameKind as Kind } from "../wire/index.ts";
import { errorToWire, toRpcError } from "./wire-errors.ts";

/** What a call being served needs of the node that serves it. */
export interface ServingNode {
  readonly nodeName: string;
  readonly limits: Limits;
  /** Dev mode: error stacks travel to callers. */
  readonly dev: boolean;
  /** The node's logger (its lines carry the node's name, id and cluster). */
  readonly logger: Logger;
  /** A client for a handler's nested calls (`ctx.client`). */
  createClient<C extends Contract>(contract: C, options: ClientOptions): Client<C>;
}

/** Where an incoming call sends its frames: a session, or an in-process caller. */
export interface CallOwner {
  readonly server: ServingNode;
  readonly remoteInfo: CallerInfo;
  readonly backlogHigh: boolean;
  /** Whether a RESULT carries the time the call took here (for the caller's balancer; pointless in-process). */
  readonly timesCalls: boolean;
  /** The deadlines of the calls served through this owner still running after their first turn, under one timer. */
  readonly servedDeadlines: DeadlineQueue;
  drained(): Promise<void>;
  send(kind: Kind, id: number, body: unknown): void;
  incomingDone(id: number): void;
}

const NO_META: Meta = Object.freeze(Object.create(null) as Meta);

/**
 * One call being served: runs the endpoint's chain (the server's
 * interceptors, validation and the handler) with its context, sends the
 * outcome, and honours cancellation and the deadline.
 */
export class IncomingCall implements CallContext, Expirable {
  readonly service: string;
  readonly method: string;
  readonly kind: MethodKind;
  readonly deadline: number | undefined;
  meta: Readonly<Meta>;
  #forwardMeta: Readonly<Meta> | null = null;
  /** When the call arrived (performance.now()), when the owner times calls. */
  #started: number | undefined;
  readonly #session: CallOwner;
  readonly #id: number;
  readonly #endpoint: Endpoint;
  #controller: AbortController | null = null;
  #abortReason: RpcError | null = null;
  #abortListeners: Array<(reason: unknown) => void> | null = null;
  /** The call's deadline is in its owner's {@link CallOwner.servedDeadlines}. */
  #timed = false;
  #done = false;
  #responseMeta: Meta | null = null;
  #input: ItemQueue<unknown> | null = null;
  #outputCredit: CreditGate | null = null;
  #iterator: AsyncIterator<unknown> | Iterator<unknown> | null = null;
  readonly #release: Release | null;
  #log: Logger | null = null;

  /** `release` frees the call's admission slots once it is over, however it ends. */
  constructor(
    session: CallOwner,
    id: number,
    endpoint: Endpoint,
    meta: Meta | null,
    timeout: number | null,
    credit: number,
    release: Release | null = null,
  ) {
    this.#session = session;
    this.#release = release;
    this.#id = id;
    this.#endpoint = endpoint;
    this.service = endpoint.service;
    this.method = endpoint.method;
    this.meta = meta ?? NO_META;
    const kind = endpoint.def.kind;
    this.kind = kind;
    if (kind === "server-stream" || kind === "bidi-stream") this.#outputCredit = new CreditGate(credit);
    this.deadline = timeout === null ? undefined : Date.now() + timeout;
    if (session.timesCalls) this.#started = performance.now();
  }

  // --- CallContext -------------------------------------------------------

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#abortReason) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  onAbort(listener: (reason: unknown) => void): void {
    if (this.#abortReason) listener(this.#abortReason);
    else if (!this.#done) (this.#abortListeners ??= []).push(listener);
  }

  get responseMeta(): Meta {
    return (this.#responseMeta ??= {});
  }

  get caller(): CallerInfo {
    return this.#session.remoteInfo;
  }

  get node(): string {
    return this.#session.server.nodeName;
  }

  get forwardMeta(): Readonly<Meta> {
    return (this.#forwardMeta ??= propagatedMeta(this.meta));
  }

  set forwardMeta(meta: Readonly<Meta>) {
    this.#forwardMeta = meta;
  }

  get log(): Logger {
    if (this.#log === null) {
      const bindings: Record<string, string> = { service: this.service, method: this.method };
      // The trace of nested calls names this call's span when the node traces
      // it; else the caller's trace id still ties these lines to the rest.
      const forwarded = this.forwardMeta.traceparent;
      const context = parseTraceparent(forwarded);
      if (context !== null) {
        bindings.trace_id = context.traceId;
        if (forwarded !== this.meta.traceparent) bindings.span_id = context.spanId;
      }
      this.#log = childLogger(this.#session.server.logger, bindings);
    }
    return this.#log;
  }

  set log(logger: Logger) {
    this.#log = logger;
  }

  client<C extends Contract>(contract: C, options?: ClientOptions): Client<C> {
    return this.#session.server.createClient(contract, {
      ...options,
      inherit: { deadline: this.deadline, signal: this.signal, meta: this.forwardMeta },
    });
  }

  // --- driven by the session ---------------------------------------------

  /** Whether the call is over (it may be cancelled before it could start). */
  get settled(): boolean {
    return this.#done;
  }

  /** Starts the call with the CALL frame's input (ignored for client-streaming kinds). */
  start(input: unknown): void {
    this.#begin(input);
    // Most handlers finish synchronously; only a call still running needs its
    // deadline watched, so it joins the owner's deadlines after the first turn.
    if (!this.#done && this.deadline !== undefined) {
      if (this.deadline <= Date.now()) this.expire();
      else {
        this.#session.servedDeadlines.add(this.deadline, this);
        this.#timed = true;
      }
    }
  }

  #begin(input: unknown): void {
    const kind = this.kind;
    if (kind === "client-stream" || kind === "bidi-stream") {
      const window = this.#session.server.limits.streamWindow;
      this.#input = new ItemQueue<unknown>(
        window,
        (credit) => this.#session.send(FrameKind.Credit, this.#id, credit),
        () => {},
      );
      this.#session.send(FrameKind.Credit, this.#id, window);
      this.#run(this.#input);
      return;
    }
    this.#run(input);
  }

  /** A stream item from the caller. */
  item(value: unknown): void {
    if (this.#done || !this.#input) return;
    const check = this.#endpoint.checkItem;
    if (check !== null) {
      try {
        value = check(value);
      } catch (error) {
        this.#fail(error);
        return;
      }
    }
    if (!this.#input.push(value)) {
      this.#fail(new RpcError("RESOURCE_EXHAUSTED", `${this.service}.${this.method}: caller sent more stream items than its credit`));
    }
  }

  /** The caller half-closed its stream. */
  endOfInput(): void {
    this.#input?.end();
  }

  /** Credit from the caller for our output stream. */
  credit(n: number): void {
    this.#outputCredit?.add(n);
  }

  /** The caller cancelled, or the connection is gone: stop, send nothing. */
  cancel(reason: RpcError): void {
    if (this.#done) return;
    this.#finish();
    this.#abort(reason);
  }

  /** Ends the call with `error`, sent to the caller (a drain that ran out of time). */
  stop(error: RpcError): void {
    this.#fail(error);
  }

  // --- internals -----------------------------------------------------------

  /** Runs the endpoint's chain: interceptors, validation, the handler. */
  #run(input: unknown): void {
    let result: unknown;
    try {
      result = this.#endpoint.run(input, this);
    } catch (error) {
      this.#fail(error);
      return;
    }
    const kind = this.kind;
    if (kind === "unary" || kind === "client-stream") {
      if (result instanceof Promise) {
        result.then(
          (output) => this.#succeed(output),
          (error) => this.#fail(error),
        );
      } else {
        this.#succeed(result);
      }
      return;
    }
    this.#pump(result).catch((error) => this.#fail(error));
  }

  #succeed(output: unknown): void {
    if (this.#done) return;
    this.#finish();
    try {
      const started = this.#started;
      // The time here, in whole µs: the caller's balancer tells slow instances from a slow caller with it.
      this.#session.send(FrameKind.Result, this.#id, started === undefined ? [output, this.#responseMeta] : [output, this.#responseMeta, Math.round((performance.now() - started) * 1000)]);
    } catch (error) {
      this.#sendUnencodable(error);
    }
  }

  /** A result or item that the codec refused (a bigint, a function, …): tell the caller instead of hanging it. */
  #sendUnencodable(error: unknown): void {
    const failure = new RpcError(
      "INTERNAL",
      `${this.service}.${this.method} on node ${this.node} produced a value that cannot be sent: ${(error as Error)?.message ?? error}`,
      { service: this.service, method: this.method, node: this.node },
    );
    this.#session.send(FrameKind.Error, this.#id, errorToWire(failure, false));
  }

  async #pump(source: unknown): Promise<void> {
    const iterable = source as AsyncIterable<unknown> & Iterable<unknown>;
    const iterator =
      typeof iterable?.[Symbol.asyncIterator] === "function"
        ? iterable[Symbol.asyncIterator]()
        : typeof iterable?.[Symbol.iterator] === "function"
          ? iterable[Symbol.iterator]()
          : undefined;
    if (!iterator) {
      throw new RpcError("INTERNAL", `${this.service}.${this.method} on node ${this.node} must return an iterable for a stream`);
    }
    this.#iterator = iterator;
    const gate = this.#outputCredit!;
    const connection = this.#session;
    let sent = 0;
    for (;;) {
      const step = await iterator.next();
      if (this.#done) return;
      if (step.done) break;
      // A generator that never awaits would keep the event loop from every
      // other connection; give it a turn now and then.
      if (++sent % 256 === 0) {
        await new Promise(setImmediate);
        if (this.#done) return;
      }
      // Wait for the reader: credit from the caller, room in the socket.
      if (!gate.take()) {
        await gate.wait();
        if (this.#done) return;
        gate.take();
      }
      if (connection.backlogHigh) {
        await connection.drained();
        if (this.#done) return;
      }
      try {
        connection.send(FrameKind.Item, this.#id, step.value);
      } catch (error) {
        this.#finish();
        this.#sendUnencodable(error);
        this.#abort(new RpcError("CANCELLED", "the stream produced a value that cannot be sent"));
        return;
      }
    }
    this.#finish();
    this.#session.send(FrameKind.End, this.#id, this.#responseMeta);
  }

  #fail(error: unknown): void {
    if (this.#done) return;
    const dev = this.#session.server.dev;
    const rpcError = toRpcError(error, { service: this.service, method: this.method, node: this.node }, dev);
    this.#finish();
    this.#session.send(FrameKind.Error, this.#id, errorToWire(rpcError, dev));
    this.#abort(rpcError);
  }

  /** @internal The deadline passed (called by the owner's deadlines). */
  expire(): void {
    this.#fail(
      new RpcError("DEADLINE_EXCEEDED", `${this.service}.${this.method} on node ${this.node} ran past its deadline`, {
        service: this.service,
        method: this.method,
        node: this.node,
      }),
    );
  }

  #finish(): void {
    this.#done = true;
    if (this.#timed) {
      this.#timed = false;
      this.#session.servedDeadlines.settled();
    }
    this.#outputCredit?.close();
    this.#input?.fail(new RpcError("CANCELLED", `${this.service}.${this.method}: the call is over`));
    this.#release?.();
    this.#session.incomingDone(this.#id);
  }

  #abort(reason: RpcError): void {
    this.#abortReason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#abortListeners;
    if (listeners !== null) {
      this.#abortListeners = null;
      for (const listener of listeners) listener(reason);
    }
    const iterator = this.#iterator;
    if (iterator?.return) {
      // A generator blocked in `await` returns once it resumes; errors there are the handler's own.
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => {});
    }
  }
}

const PROPAGATED_META = ["traceparent", "tracestate"] as const;

/** What nested calls carry of a call's metadata by default: its W3C trace context. */
function propagatedMeta(meta: Readonly<Meta>): Readonly<Meta> {
  let out: Meta | undefined;
  for (const key of PROPAGATED_META) {
    const value = meta[key];
    if (value !== undefined) (out ??= {})[key] = value;
  }
  return out ?? NO_META;
}
