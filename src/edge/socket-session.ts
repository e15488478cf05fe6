/**
 * One WebSocket at the edge: its JSON-RPC calls in flight, the streams they
 * carry both ways with credit, and the control messages that steer them
 * (`amoeba.cancel`, `amoeba.send`, `amoeba.end`, `amoeba.credit`).
 */
import { WebSocket, type RawData } from "ws";
import type { Logger } from "../logger.ts";
import type { MethodKind } from "../rpc/contract.ts";
import { CreditGate } from "../rpc/credit-gate.ts";
import { ItemQueue } from "../rpc/item-queue.ts";
import { RpcError } from "../rpc/rpc-error.ts";
import type { Admission, Admitted } from "./admission.ts";
import { parseJson, toJsonText } from "./body.ts";
import { EdgeFailure, failureOf, JSONRPC } from "./errors.ts";
import {
  CANCEL_METHOD,
  CREDIT_METHOD,
  dispatchJsonRpc,
  END_METHOD,
  errorResponse,
  failureResponse,
  isValidId,
  ITEM_NOTIFICATION,
  jsonRpcCost,
  SEND_METHOD,
  type CallSlot,
  type JsonRpcHost,
  type JsonRpcId,
  type RpcChannel,
} from "./jsonrpc.ts";
import type { EdgeLimits } from "./options.ts";

/** Bytes buffered for a WebSocket before stream items wait for the client to read. */
const WS_HIGH_WATER = 1024 * 1024;
/** The most credit one `amoeba.credit` may grant. */
const MAX_GRANT = 10_000;

/** A call in flight on the socket. */
interface SocketCall {
  readonly controller: AbortController;
  /** The client's input stream (client and bidirectional streams). */
  readonly input: ItemQueue<unknown> | undefined;
  /** The credit the client granted for result items, when it asked to grant it. */
  readonly credit: CreditGate | undefined;
}

/** What a socket needs of the edge. */
export interface SessionHost {
  readonly limits: EdgeLimits;
  readonly admission: Admission;
  readonly jsonRpc: JsonRpcHost;
  readonly logger: Logger;
}

/** Serves JSON-RPC on one WebSocket until it closes; a close cancels every call it made. */
export class SocketSession {
  readonly #ws: WebSocket;
  readonly #host: SessionHost;
  readonly #admitted: Admitted;
  readonly #calls = new Map<JsonRpcId, SocketCall>();
  readonly #anonymous = new Set<AbortController>();
  readonly #channel: RpcChannel;
  /** Whether a pong (or the socket's opening) came since the last ping. */
  #alive = true;

  constructor(ws: WebSocket, admitted: Admitted, host: SessionHost) {
    this.#ws = ws;
    this.#host = host;
    this.#admitted = admitted;
    this.#channel = {
      meta: admitted.meta,
      timeout: host.admission.defaultTimeout,
      maxTimeout: host.admission.maxTimeout,
      streams: true,
      open: (id, kind, credit) => this.#open(id, kind, credit),
      control: (method, params) => this.#control(method, params),
    };
    ws.on("pong", () => {
      this.#alive = true;
    });
    ws.on("message", (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    // ws closes the socket itself on a protocol error or an oversized message (1009).
    ws.on("error", (error) => host.logger.debug({ err: error }, "edge: WebSocket error"));
    ws.on("close", () => this.#cancelAll());
  }

  /** Pings the client; a client that did not answer the previous ping is cut off. */
  heartbeat(): void {
    if (!this.#alive) {
      this.#ws.terminate();
      return;
    }
    this.#alive = false;
    this.#ws.ping();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#send(errorResponse(null, JSONRPC.INVALID_REQUEST, "Invalid Request: send JSON-RPC as text messages"));
      return;
    }
    let message: unknown;
    try {
      message = parseJson(rawText(data), this.#host.limits.maxJsonDepth);
    } catch (error) {
      this.#send(errorResponse(null, JSONRPC.PARSE_ERROR, `Parse error: ${(error as EdgeFailure).message}`));
      return;
    }
    // Control messages steer calls already paid for: only calls cost tokens.
    if (!isControl(message)) {
      const limited = this.#host.admission.rateLimit(this.#admitted.client, jsonRpcCost(message));
      if (limited) {
        this.#send(failureResponse(singleId(message), limited));
        return;
      }
    }
    dispatchJsonRpc(message, this.#channel, this.#host.jsonRpc, this.#host.limits.maxBatch).then(
      (answer) => {
        if (answer !== undefined) this.#send(answer);
      },
      (error: unknown) => {
        this.#host.logger.warn({ err: error }, "edge: a WebSocket message failed unexpectedly");
        this.#send(failureResponse(singleId(message), failureOf(error, this.#host.jsonRpc.expose)));
      },
    );
  }

  #open(id: JsonRpcId | undefined, kind: MethodKind, credit: number | undefined): CallSlot | EdgeFailure {
    const limits = this.#host.limits;
    if (this.#calls.size + this.#anonymous.size >= limits.maxWebSocketCalls) {
      return new EdgeFailure(429, "RESOURCE_EXHAUSTED", `at most ${limits.maxWebSocketCalls} calls in flight on one WebSocket`);
    }
    const controller = new AbortController();
    if (id === undefined) {
      // A notification: a unary call nobody hears the answer of.
      this.#anonymous.add(controller);
      return { signal: controller.signal, close: () => this.#anonymous.delete(controller) };
    }
    if (this.#calls.has(id)) {
      return new EdgeFailure(400, "INVALID_ARGUMENT", `a call with id ${JSON.stringify(id)} is already in flight on this WebSocket`, { jsonRpcCode: JSONRPC.INVALID_REQUEST });
    }
    const streamsIn = kind === "client-stream" || kind === "bidi-stream";
    const streamsOut = kind === "server-stream" || kind === "bidi-stream";
    const window = limits.inputStreamWindow;
    // The input waits in a queue no longer than the credit granted: the client
    // sends `window` items, then more only as the call reads them.
    const input = streamsIn ? new ItemQueue<unknown>(window, (n) => this.#grant(id, n), () => {}) : undefined;
    const gate = streamsOut && credit !== undefined ? new CreditGate(credit) : undefined;
    const call: SocketCall = { controller, input, credit: gate };
    this.#calls.set(id, call);
    controller.signal.addEventListener("abort", () => {
      input?.fail(new RpcError("CANCELLED", "the call was cancelled"));
      gate?.close();
    });
    if (input) this.#grant(id, window);
    return {
      signal: controller.signal,
      ...(input ? { input } : {}),
      ...(streamsOut ? { item: (value: unknown) => this.#item(id, gate, controller.signal, value) } : {}),
      close: () => {
        if (this.#calls.get(id) === call) this.#calls.delete(id);
        gate?.close();
      },
    };
  }

  /** Sends one result item: after the client's credit allows it, resolving once the socket has room. */
  #item(id: JsonRpcId, gate: CreditGate | undefined, signal: AbortSignal, value: unknown): Promise<void> | undefined {
    if (gate === undefined || gate.take()) return this.#notify({ jsonrpc: "2.0", method: ITEM_NOTIFICATION, params: { id, item: value } });
    return (async () => {
      // Bounded by the call: its deadline or cancellation closes the gate.
      while (!gate.take()) {
        if (gate.closed || signal.aborted) return;
        await gate.wait();
      }
      await this.#notify({ jsonrpc: "2.0", method: ITEM_NOTIFICATION, params: { id, item: value } });
    })();
  }

  #control(method: string, params: unknown): unknown {
    const target = (params as { id?: unknown } | null | undefined)?.id;
    if (typeof params !== "object" || params === null || !isValidId(target)) {
      return invalidParams(`${method} takes { "id": <the id of a call in flight>${method === SEND_METHOD ? ', "item": <value>' : method === CREDIT_METHOD ? ', "credit": <items>' : ""} }`);
    }
    const call = this.#calls.get(target);
    if (method === CANCEL_METHOD) {
      call?.controller.abort();
      return call !== undefined;
    }
    if (call === undefined) return new EdgeFailure(404, "NOT_FOUND", `no call with id ${JSON.stringify(target)} is in flight on this WebSocket`, { jsonRpcCode: JSONRPC.INVALID_PARAMS });
    if (method === CREDIT_METHOD) {
      const credit = (params as { credit?: unknown }).credit;
      if (!call.credit) return invalidParams(`call ${JSON.stringify(target)} was not opened with "amoeba": { "credit": n }`);
      if (!Number.isInteger(credit) || (credit as number) < 1 || (credit as number) > MAX_GRANT) return invalidParams(`"credit" takes a whole number of items from 1 to ${MAX_GRANT}`);
      call.credit.add(credit as number);
      return true;
    }
    if (!call.input) return invalidParams(`call ${JSON.stringify(target)} takes no input stream`);
    if (call.input.settled) return new EdgeFailure(400, "FAILED_PRECONDITION", `the input stream of call ${JSON.stringify(target)} has ended`);
    if (method === END_METHOD) {
      call.input.end();
      return true;
    }
    if (!Object.hasOwn(params, "item")) return invalidParams(`${SEND_METHOD} takes { "id", "item" }`);
    if (!call.input.push((params as { item: unknown }).item)) {
      // More than the credit granted: the client ignores flow control, and its call fails.
      const error = new RpcError("RESOURCE_EXHAUSTED", `call ${JSON.stringify(target)} sent more input items than its credit (${this.#host.limits.inputStreamWindow} ahead of what the call read)`);
      call.input.fail(error);
      return new EdgeFailure(429, "RESOURCE_EXHAUSTED", error.message);
    }
    return true;
  }

  #grant(id: JsonRpcId, credit: number): void {
    this.#send({ jsonrpc: "2.0", method: CREDIT_METHOD, params: { id, credit } });
  }

  #send(message: object): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(toJsonText(message));
  }

  /** Sends a notification, resolving once there is room when the client reads slower than the edge writes. */
  #notify(message: object): Promise<void> | undefined {
    if (this.#ws.readyState !== WebSocket.OPEN) return undefined;
    const text = toJsonText(message);
    if (this.#ws.bufferedAmount < WS_HIGH_WATER) {
      this.#ws.send(text);
      return undefined;
    }
    // Wait until this much is written, so credit stops flowing back to the instance.
    return new Promise<void>((resolve) => this.#ws.send(text, () => resolve()));
  }

  /** The client is gone: every call it made is cancelled, so handlers stop. */
  #cancelAll(): void {
    for (const call of this.#calls.values()) call.controller.abort();
    for (const controller of this.#anonymous) controller.abort();
    this.#calls.clear();
    this.#anonymous.clear();
  }
}

function invalidParams(message: string): EdgeFailure {
  return new EdgeFailure(400, "INVALID_ARGUMENT", `Invalid params: ${message}`, { jsonRpcCode: JSONRPC.INVALID_PARAMS });
}

/** Whether a message is one control message (not a batch, which may hold calls). */
function isControl(message: unknown): boolean {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return false;
  const method = (message as { method?: unknown }).method;
  return method === SEND_METHOD || method === END_METHOD || method === CREDIT_METHOD || method === CANCEL_METHOD;
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

/** The id of a single request, for an answer about the whole message; null for a batch or none. */
function singleId(message: unknown): JsonRpcId {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return null;
  const id = (message as { id?: unknown }).id;
  return typeof id === "string" || typeof id === "number" ? id : null;
}
