/**
 * The calling end of calls through NATS queue groups: each unary call is one
 * message to the method's micro endpoint, where NATS hands it to one
 * subscriber of the queue group `q`, and one reply back. Replies of all calls
 * come in on one wildcard subscription, and deadlines share one timer, so a
 * call costs no subscription and no timer of its own.
 */
import { createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Logger } from "../logger.ts";
import { CallTable } from "../rpc/call-table.ts";
import { DeadlineQueue, type Expirable } from "../rpc/deadline-queue.ts";
import type { Limits } from "../rpc/limits.ts";
import type { CallRequest } from "../rpc/context.ts";
import { withParentSignal } from "../rpc/parent-signal.ts";
import { RpcError } from "../rpc/rpc-error.ts";
import type { StatusCode } from "../rpc/status.ts";
import { errorFromWire } from "../rpc/wire-errors.ts";
import { decodeBody, encodeBody } from "../wire/index.ts";
import { cancelSubject, WIRE_HEADER, WIRE_VERSION, type GroupRequestBody } from "./group-wire.ts";
import { endpointSubject } from "./micro-protocol.ts";

/** Options of a {@link GroupCaller}. */
export interface GroupCallerOptions {
  nc: NatsConnection;
  prefix: string;
  nodeId: string;
  nodeName: string;
  limits: Limits;
  logger: Logger;
  /** Whether the client has a server now; a request sent without one would be dropped. */
  connected: () => boolean;
  /** Resolves once the client has a server again; rejects after `timeout` ms. */
  whenConnected: (timeout: number) => Promise<void>;
  /** Whether the look-up knows a live instance of `service` at `major` (so "no responders" may be one reconnecting). */
  instancesKnown: (service: string, major: number) => boolean;
}

/** How long a call answered "no responders" is sent again while the look-up knows an instance (its client may be reconnecting). */
const NO_RESPONDERS_GRACE_MS = 800;

/** Places unary calls through queue groups. */
export class GroupCaller {
  readonly #options: GroupCallerOptions;
  /** Replies go to `<base>.<call number>`. */
  readonly #base = createInbox();
  readonly #pending = new CallTable<PendingGroupCall>();
  readonly #deadlines = new DeadlineQueue();
  readonly #headers: MsgHdrs = natsHeaders();
  #subscription: Subscription | null = null;
  #next = 1;
  #closed = false;

  constructor(options: GroupCallerOptions) {
    this.#options = options;
    this.#headers.set(WIRE_HEADER, WIRE_VERSION);
  }

  /** Calls in flight (for tests and stats). */
  get size(): number {
    return this.#pending.size;
  }

  /** One unary call to the queue group of `request.service` at `major`; settles with its outcome. */
  call(linked: CallRequest, major: number): Promise<unknown> {
    // A reply to a NATS request is waited for with the call's signal: a parent call is folded into it.
    const request = withParentSignal(linked);
    if (this.#closed) return Promise.reject(this.#error(request, "UNAVAILABLE", "the NATS engine stopped; not processed", true));
    if (request.signal?.aborted) return Promise.reject(this.#error(request, "CANCELLED", "cancelled before it was sent", true));
    const subject = endpointSubject(this.#options.prefix, request.service, `${major}.0.0`, request.method);
    if (this.#options.connected()) return this.#send(request, major, subject);
    // A request published while the client reconnects would be dropped: wait for the server, within the call's time.
    const wait = request.deadline === undefined ? 10_000 : request.deadline - Date.now();
    return this.#options.whenConnected(Math.max(1, wait)).then(
      () => this.#send(request, major, subject),
      (error: Error) => Promise.reject(this.#error(request, "UNAVAILABLE", `${error.message}; not processed — safe to retry`, true)),
    );
  }

  /**
   * The client lost its server: replies sent meanwhile are lost, so every
   * call in flight fails now (it may have run; idempotent ones are retried)
   * instead of waiting for its deadline.
   */
  disconnected(reason: Error): void {
    for (const call of [...this.#pending.values()]) {
      call.fail(this.#error(call.request, "UNAVAILABLE", `lost the NATS server before the answer came (${reason.message}); it may have run`, false));
    }
  }

  /** Stops: calls in flight fail, the reply subscription ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const call of [...this.#pending.values()]) call.fail(this.#error(call.request, "UNAVAILABLE", "the NATS engine stopped before the answer came; it may have run", false));
    this.#deadlines.clear();
    this.#subscription?.unsubscribe();
  }

  /** @internal A call ended: forget it. */
  settled(call: PendingGroupCall): void {
    if (this.#pending.delete(call.id) && call.timed) this.#deadlines.settled();
  }

  /** @internal A call's signal aborted: tell whichever instance took it, then fail it. */
  cancel(call: PendingGroupCall): void {
    const { request } = call;
    const reason = request.signal?.reason;
    try {
      this.#options.nc.publish(cancelSubject(this.#options.prefix, request.service, call.major), call.reply);
    } catch (error) {
      this.#options.logger.debug({ err: error }, "publishing a NATS cancel failed");
    }
    call.fail(this.#error(request, "CANCELLED", reason instanceof Error ? `cancelled by the caller: ${reason.message}` : "cancelled by the caller", false));
  }

  /** @internal A call's deadline passed. */
  expire(call: PendingGroupCall): void {
    call.fail(this.#error(call.request, "DEADLINE_EXCEEDED", "no answer from the queue group before the deadline; it may have run", false));
  }

  #send(request: CallRequest, major: number, subject: string): Promise<unknown> {
    this.#subscription ??= this.#subscribe();
    let timeout: number | null = null;
    if (request.deadline !== undefined && Number.isFinite(request.deadline)) {
      timeout = Math.ceil(request.deadline - Date.now());
      if (timeout <= 0) return Promise.reject(this.#error(request, "DEADLINE_EXCEEDED", "deadline passed before the call was sent", true));
    }
    const body: GroupRequestBody = [request.input, request.meta ?? null, request.version, timeout, this.#options.nodeId, this.#options.nodeName];
    let bytes: Uint8Array;
    try {
      bytes = encodeBody(body);
    } catch (error) {
      return Promise.reject(this.#error(request, "INVALID_ARGUMENT", `the input or metadata cannot be sent: ${(error as Error)?.message ?? error}`, true));
    }
    const max = this.#options.nc.info?.max_payload ?? Infinity;
    if (bytes.length > max) {
      return Promise.reject(this.#error(request, "RESOURCE_EXHAUSTED", `the call (${bytes.length} bytes) is over the NATS server's max_payload of ${max}; not processed`, true));
    }
    const id = this.#next;
    this.#next = (this.#next + 1) % Number.MAX_SAFE_INTEGER || 1;
    const call = new PendingGroupCall(this, id, `${this.#base}.${id}`, major, request, subject, body);
    const promise = call.promise();
    this.#pending.set(id, call);
    if (timeout !== null) {
      call.timed = true;
      this.#deadlines.add(request.deadline!, call);
    }
    request.signal?.addEventListener("abort", call, { once: true });
    this.#publish(call, bytes);
    return promise;
  }

  #publish(call: PendingGroupCall, bytes: Uint8Array): void {
    try {
      this.#options.nc.publish(call.subject, bytes, { reply: call.reply, headers: this.#headers });
    } catch (error) {
      call.fail(this.#error(call.request, "UNAVAILABLE", `the call could not be sent over NATS (${(error as Error)?.message ?? error}); not processed`, true));
    }
  }

  /**
   * "No responders" while the look-up knows an instance: it may be one whose
   * client is reconnecting after losing its server, which takes a moment. So
   * the call is sent again after 25 ms, 50 ms, 100 ms, … for up to
   * `NO_RESPONDERS_GRACE_MS` (and its deadline); false when that is over.
   */
  #sendAgainLater(call: PendingGroupCall): boolean {
    const { request } = call;
    if (!this.#options.instancesKnown(request.service, call.major)) return false;
    const now = Date.now();
    call.graceUntil ??= Math.min(now + NO_RESPONDERS_GRACE_MS, request.deadline ?? Infinity);
    call.pause *= 2;
    if (now + call.pause > call.graceUntil) return false;
    setTimeout(() => {
      if (call.settled || !this.#options.connected()) return;
      if (call.body[3] !== null) call.body[3] = Math.max(1, Math.ceil(request.deadline! - Date.now()));
      this.#publish(call, encodeBody(call.body));
    }, call.pause).unref();
    return true;
  }

  #subscribe(): Subscription {
    return this.#options.nc.subscribe(`${this.#base}.*`, {
      callback: (error, msg) => {
        if (error) return;
        try {
          this.#reply(msg);
        } catch (failure) {
          this.#options.logger.debug({ err: failure }, "NATS reply dropped");
        }
      },
    });
  }

  #reply(msg: Msg): void {
    const id = Number(msg.subject.slice(this.#base.length + 1));
    const call = this.#pending.get(id);
    if (!call) return;
    const request = call.request;
    // NATS's own status: nobody subscribes to the endpoint now.
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      if (this.#sendAgainLater(call)) return;
      call.fail(
        this.#error(
          request,
          "UNAVAILABLE",
          `no instance of ${request.service}@${request.version ?? "*"} answers on NATS (no responders on ${call.subject}); not processed — safe to retry`,
          true,
        ),
      );
      return;
    }
    let reply: unknown;
    try {
      reply = decodeBody(msg.data, this.#options.limits.maxDepth);
    } catch (error) {
      call.fail(this.#error(request, "INTERNAL", `the answer is not Amoeba's (${(error as Error).message}); it may have run`, false));
      return;
    }
    if (!Array.isArray(reply)) {
      call.fail(this.#error(request, "INTERNAL", "the answer is not Amoeba's; it may have run", false));
    } else if (reply[0] === 0) {
      const meta = reply[2] as Record<string, string> | null;
      if (typeof reply[3] === "number" && reply[3] >= 0) request.serverMicros = reply[3];
      if (meta && typeof meta === "object" && request.onMeta) request.onMeta(meta);
      call.succeed(reply[1]);
    } else {
      call.fail(errorFromWire(reply[1], { service: request.service, method: request.method, node: "" }));
    }
  }

  #error(request: CallRequest, code: StatusCode, what: string, unprocessed: boolean): RpcError {
    return new RpcError(code, `${request.service}.${request.method} (NATS queue group): ${what}`, {
      service: request.service,
      method: request.method,
      unprocessed,
    });
  }
}

/** One call in flight: its promise, deadline and cancellation. */
class PendingGroupCall implements Expirable {
  settled = false;
  /** Its deadline is in the caller's deadline queue. */
  timed = false;
  /** Until when "no responders" is asked again, once it came (ms since the epoch). */
  graceUntil: number | undefined;
  /** The pause before the next ask, doubled each time. */
  pause = 12.5;
  #resolve!: (value: unknown) => void;
  #reject!: (error: RpcError) => void;

  constructor(
    readonly caller: GroupCaller,
    readonly id: number,
    readonly reply: string,
    readonly major: number,
    readonly request: CallRequest,
    readonly subject: string,
    readonly body: GroupRequestBody,
  ) {}

  promise(): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  succeed(value: unknown): void {
    if (this.#end()) this.#resolve(value);
  }

  fail(error: RpcError): void {
    if (this.#end()) this.#reject(error);
  }

  expire(): void {
    this.caller.expire(this);
  }

  /** @internal The request's signal aborted (this object is the listener). */
  handleEvent(): void {
    if (!this.settled) this.caller.cancel(this);
  }

  #end(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.request.signal?.removeEventListener("abort", this);
    this.caller.settled(this);
    return true;
  }
}
