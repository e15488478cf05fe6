/**
 * One call from a browser over the edge's WebSocket: its request, its
 * deadline and cancellation, its result or stream of results (with credit
 * granted as the reader takes items), and its input stream (sent only as
 * the edge grants credit).
 */
import type { Meta } from "../rpc/call-options.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import type { MethodKind } from "../rpc/contract.ts";
import type { StreamSource } from "../rpc/context.ts";
import { CreditGate } from "../rpc/credit-gate.ts";
import { ItemQueue } from "../rpc/item-queue.ts";
import type { RpcError } from "../rpc/rpc-error.ts";
import type { StatusCode } from "../rpc/status.ts";
import { errorFromResponse, localError } from "./errors.ts";

/** What a call needs of its connection. */
export interface CallHost {
  /** Sends a message; false when the socket is no longer open. */
  send(message: object): boolean;
  /** The call is over: its id no longer routes messages. */
  forget(id: number): void;
}

/** How one call is made. */
export interface CallSettings {
  readonly deadline: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly meta: Meta | undefined;
  readonly onMeta: ((meta: Meta) => void) | undefined;
  /** Result-stream items the reader may fall behind by before the edge waits. */
  readonly credit: number;
}

/** A call in flight, fed by the connection with what the edge sends for its id. */
export class EdgeCall {
  readonly id: number;
  readonly #host: CallHost;
  readonly #service: string;
  readonly #method: string;
  readonly #kind: MethodKind;
  readonly #settings: CallSettings;
  #done = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #results: ItemQueue<unknown> | undefined;
  #input: CreditGate | undefined;
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((error: RpcError) => void) | undefined;
  readonly #onAbort = (): void => this.#cancel("CANCELLED", "cancelled by the caller");

  constructor(host: CallHost, id: number, service: string, method: string, kind: MethodKind, settings: CallSettings) {
    this.#host = host;
    this.id = id;
    this.#service = service;
    this.#method = method;
    this.#kind = kind;
    this.#settings = settings;
  }

  /** Sends the request; the result as a promise, or the stream of results. */
  start(input: unknown): Promise<unknown> | CallStream<unknown> {
    const streamsIn = this.#kind === "client-stream" || this.#kind === "bidi-stream";
    const streamsOut = this.#kind === "server-stream" || this.#kind === "bidi-stream";
    let out: Promise<unknown> | CallStream<unknown>;
    if (streamsOut) {
      const credit = this.#settings.credit;
      const results = (this.#results = new ItemQueue<unknown>(
        credit,
        (n) => this.#host.send({ jsonrpc: "2.0", method: "amoeba.credit", params: { id: this.id, credit: n } }),
        () => this.#cancel("CANCELLED", "the reader stopped reading the stream"),
      ));
      out = { [Symbol.asyncIterator]: () => results, cancel: (reason?: string) => this.#cancel("CANCELLED", reason ?? "cancelled by the caller") };
    } else {
      out = new Promise<unknown>((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
      });
    }
    const { deadline, signal, meta } = this.#settings;
    if (signal?.aborted) {
      this.#settle(this.#error("CANCELLED", "cancelled by the caller before it started"));
      return out;
    }
    const remaining = deadline === undefined ? undefined : Math.ceil(deadline - Date.now());
    if (remaining !== undefined && remaining < 1) {
      this.#settle(this.#error("DEADLINE_EXCEEDED", "the deadline passed before the call started"));
      return out;
    }
    const extension = {
      ...(remaining === undefined ? {} : { timeout: remaining }),
      ...(meta === undefined ? {} : { meta }),
      ...(streamsOut ? { credit: this.#settings.credit } : {}),
    };
    const request = {
      jsonrpc: "2.0",
      id: this.id,
      method: `${this.#service}.${this.#method}`,
      // An input stream comes as amoeba.send messages; one input goes as the array's only element, whatever its type.
      ...(streamsIn ? {} : { params: [input === undefined ? null : input] }),
      ...(Object.keys(extension).length > 0 ? { amoeba: extension } : {}),
    };
    if (!this.#host.send(request)) {
      this.#settle(this.#error("UNAVAILABLE", "the connection to the edge is closed; not processed"));
      return out;
    }
    // This side keeps the deadline even if the edge is slow to say so. It
    // sends no cancel: the edge has the same deadline and stops the handler
    // with DEADLINE_EXCEEDED, which is what the handler should see.
    if (remaining !== undefined) {
      this.#timer = setTimeout(() => this.#settle(this.#error("DEADLINE_EXCEEDED", `the deadline of ${remaining} ms passed`)), remaining);
    }
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (streamsIn) {
      this.#input = new CreditGate(0);
      void this.#pump(input as StreamSource<unknown>, this.#input);
    }
    return out;
  }

  /** The edge's response (result or error) for this call. */
  response(message: { result?: unknown; error?: unknown; amoeba?: { meta?: unknown } }): void {
    if (this.#done) return;
    if (message.error !== undefined) {
      this.#settle(errorFromResponse(message.error, this.#service, this.#method));
      return;
    }
    const meta = message.amoeba?.meta;
    if (typeof meta === "object" && meta !== null && this.#settings.onMeta) this.#settings.onMeta(meta as Meta);
    this.#settle(undefined, message.result);
  }

  /** One result item. */
  item(value: unknown): void {
    if (this.#done || !this.#results) return;
    if (!this.#results.push(value)) this.#cancel("INTERNAL", "the edge sent more stream items than the credit granted");
  }

  /** The edge accepts `n` more input items. */
  credit(n: number): void {
    if (Number.isInteger(n) && n > 0) this.#input?.add(n);
  }

  /** The connection closed before the call completed. */
  lost(reason: string): void {
    this.#settle(this.#error("UNAVAILABLE", `${reason}; the call may have run`));
  }

  /** Sends the input items as the edge grants credit, then the end; stops once the call is over. */
  async #pump(source: StreamSource<unknown>, gate: CreditGate): Promise<void> {
    const iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<unknown>)[Symbol.iterator]();
    try {
      for (;;) {
        while (!gate.take()) {
          if (gate.closed) break;
          await gate.wait();
        }
        if (this.#done) {
          await iterator.return?.();
          return;
        }
        const next = await iterator.next();
        if (this.#done) {
          await iterator.return?.();
          return;
        }
        if (next.done) break;
        if (!this.#host.send({ jsonrpc: "2.0", method: "amoeba.send", params: { id: this.id, item: next.value } })) return;
      }
      this.#host.send({ jsonrpc: "2.0", method: "amoeba.end", params: { id: this.id } });
    } catch (error) {
      this.#cancel("CANCELLED", `the input stream failed: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  /** Ends the call on this side and tells the edge to stop it. */
  #cancel(code: StatusCode, message: string): void {
    if (this.#done) return;
    this.#host.send({ jsonrpc: "2.0", method: "amoeba.cancel", params: { id: this.id } });
    this.#settle(this.#error(code, message));
  }

  #settle(error: RpcError | undefined, value?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#settings.signal?.removeEventListener("abort", this.#onAbort);
    this.#input?.close();
    this.#host.forget(this.id);
    if (this.#results) {
      if (error) this.#results.fail(error);
      else this.#results.end();
    } else if (error) this.#reject!(error);
    else this.#resolve!(value);
  }

  #error(code: StatusCode, message: string): RpcError {
    return localError(code, message, this.#service, this.#method);
  }
}
