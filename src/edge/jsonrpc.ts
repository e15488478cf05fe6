/**
 * JSON-RPC 2.0 at the edge, the same over HTTP POST and over WebSocket:
 * method names `service.method`, batches, notifications, the specification's
 * error codes, and — over WebSocket — server streams as notifications.
 */
import type { Meta } from "../rpc/call-options.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import type { EdgeMethod } from "./catalog.ts";
import { EdgeFailure, failureOf, JSONRPC } from "./errors.ts";

/** A request id: a string, a number, or null. */
export type JsonRpcId = string | number | null;

/** One JSON-RPC response. */
export interface JsonRpcResponse {
  jsonrpc: "2.0";
  id: JsonRpcId;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** The notification method that carries one item of a server stream over WebSocket. */
export const ITEM_NOTIFICATION = "amoeba.item";
/** The notification a WebSocket client sends to cancel one of its calls: `{ "id": <the call's id> }`. */
export const CANCEL_METHOD = "amoeba.cancel";

/** The longest string id accepted. */
const MAX_ID_LENGTH = 256;

/** One call's hold on its channel: the signal that cancels it, and the release once it is over. */
export interface CallSlot {
  readonly signal: AbortSignal;
  close(): void;
}

/** Where JSON-RPC requests come from (an HTTP request, a WebSocket) and how their calls run there. */
export interface RpcChannel {
  /** Metadata for every call: the authenticated caller, trace context. */
  readonly meta: Meta | undefined;
  /** The deadline of each call, in ms from its start. */
  readonly timeout: number;
  /** Starts a call (`id` undefined for a notification): its slot, or why it may not start (id in use, too many in flight). */
  open(id: JsonRpcId | undefined): CallSlot | EdgeFailure;
  /** Over WebSocket: sends a notification, resolving once there is room for more. Absent over HTTP. */
  readonly notify?: (message: object) => Promise<void> | undefined;
  /** Over WebSocket: cancels the call with this id. Absent over HTTP. */
  readonly cancel?: (id: JsonRpcId) => boolean;
}

/** What the dispatcher needs of the edge. */
export interface JsonRpcHost {
  /** The public method `service.method`, or undefined. */
  find(service: string, method: string): EdgeMethod | undefined | Promise<EdgeMethod | undefined>;
  /** Whether end users see full error messages (dev). */
  readonly expose: boolean;
}

/**
 * Answers one JSON-RPC message (parsed JSON): a request, a notification or a
 * batch. Returns the response (an array for a batch), or undefined when
 * nothing is to be sent (notifications only). `maxBatch` bounds a batch.
 */
export async function dispatchJsonRpc(message: unknown, channel: RpcChannel, host: JsonRpcHost, maxBatch: number): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
  if (!Array.isArray(message)) return runOne(message, channel, host);
  if (message.length === 0) return errorResponse(null, JSONRPC.INVALID_REQUEST, "Invalid Request: an empty batch");
  if (message.length > maxBatch) return errorResponse(null, JSONRPC.INVALID_REQUEST, `Invalid Request: a batch of ${message.length} requests; at most ${maxBatch}`);
  const answers = await Promise.all(message.map((entry) => runOne(entry, channel, host)));
  const responses = answers.filter((answer): answer is JsonRpcResponse => answer !== undefined);
  return responses.length > 0 ? responses : undefined;
}

/** How many calls a message asks for (a batch: its length), for rate limits. */
export function jsonRpcCost(message: unknown): number {
  return Array.isArray(message) ? Math.max(1, message.length) : 1;
}

/** A response carrying an error. */
export function errorResponse(id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcResponse {
  return { jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } };
}

/** A response carrying the failure of a call. */
export function failureResponse(id: JsonRpcId, failure: EdgeFailure): JsonRpcResponse {
  return { jsonrpc: "2.0", id, error: failure.toJsonRpc() };
}

async function runOne(request: unknown, channel: RpcChannel, host: JsonRpcHost): Promise<JsonRpcResponse | undefined> {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return errorResponse(null, JSONRPC.INVALID_REQUEST, "Invalid Request: expected a request object");
  }
  const { jsonrpc, method, params } = request as { jsonrpc?: unknown; method?: unknown; params?: unknown };
  const hasId = Object.hasOwn(request, "id");
  const rawId = (request as { id?: unknown }).id;
  if (hasId && !isValidId(rawId)) {
    return errorResponse(null, JSONRPC.INVALID_REQUEST, `Invalid Request: "id" must be a string (at most ${MAX_ID_LENGTH} characters), a number or null`);
  }
  const id = hasId ? (rawId as JsonRpcId) : null;
  if (jsonrpc !== "2.0") return errorResponse(id, JSONRPC.INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be exactly "2.0"');
  if (typeof method !== "string" || method === "") return errorResponse(id, JSONRPC.INVALID_REQUEST, 'Invalid Request: "method" must be a non-empty string');
  // A request without an id is a notification: run, never answered.
  const notification = !hasId;
  const answer = (response: JsonRpcResponse): JsonRpcResponse | undefined => (notification ? undefined : response);

  if (method === CANCEL_METHOD && channel.cancel) {
    const target = (params as { id?: unknown } | undefined)?.id;
    if (!isValidId(target)) return answer(errorResponse(id, JSONRPC.INVALID_PARAMS, `Invalid params: ${CANCEL_METHOD} takes { "id": <the id of a call in flight> }`));
    return answer({ jsonrpc: "2.0", id, result: channel.cancel(target) });
  }

  let input: unknown;
  if (params === undefined) input = {};
  else if (Array.isArray(params)) {
    if (params.length !== 1) {
      return answer(errorResponse(id, JSONRPC.INVALID_PARAMS, "Invalid params: give the method's input as an object, or as the only element of an array"));
    }
    input = params[0];
  } else if (typeof params === "object" && params !== null) input = params;
  else return answer(errorResponse(id, JSONRPC.INVALID_PARAMS, 'Invalid params: "params" must be an object or an array'));

  const dot = method.lastIndexOf(".");
  const found = dot > 0 && !method.startsWith("rpc.") ? await host.find(method.slice(0, dot), method.slice(dot + 1)) : undefined;
  if (found === undefined) return answer(errorResponse(id, JSONRPC.METHOD_NOT_FOUND, `Method not found: ${method}`));

  if (found.kind === "server-stream") {
    // Items go out as notifications naming the request's id; a notification has none.
    if (!channel.notify) {
      return answer(failureResponse(id, new EdgeFailure(501, "UNIMPLEMENTED", `${method} streams its results: call it over WebSocket, or as Server-Sent Events at /rpc/${found.service}/${found.name}`)));
    }
    if (notification) return undefined;
  } else if (found.kind !== "unary") {
    return answer(failureResponse(id, new EdgeFailure(501, "UNIMPLEMENTED", `${method} takes a stream of inputs, which JSON-RPC at the edge does not carry`)));
  }

  const slot = channel.open(notification ? undefined : id);
  if (slot instanceof EdgeFailure) return answer(failureResponse(id, slot));
  try {
    const options = { timeout: channel.timeout, signal: slot.signal, meta: channel.meta };
    if (found.kind === "unary") {
      const result = await (found.call(input, options) as Promise<unknown>);
      return answer({ jsonrpc: "2.0", id, result: result === undefined ? null : result });
    }
    const items = found.call(input, options) as CallStream<unknown>;
    let count = 0;
    for await (const item of items) {
      count++;
      const wait = channel.notify!({ jsonrpc: "2.0", method: ITEM_NOTIFICATION, params: { id, item } });
      if (wait) await wait;
    }
    return { jsonrpc: "2.0", id, result: { items: count } };
  } catch (error) {
    return answer(failureResponse(id, failureOf(error, host.expose)));
  } finally {
    slot.close();
  }
}

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || (typeof id === "string" && id.length <= MAX_ID_LENGTH) || (typeof id === "number" && Number.isFinite(id));
}
