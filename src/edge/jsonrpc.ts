/**
 * JSON-RPC 2.0 at the edge, the same over HTTP POST and over WebSocket:
 * method names `service.method`, batches, notifications, the specification's
 * error codes; beyond it, an `amoeba` member for a call's deadline, metadata
 * and stream credit, and — over WebSocket — streams both ways.
 */
import type { Meta } from "../rpc/call-options.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import type { MethodKind } from "../rpc/contract.ts";
import { keepResponseMeta } from "./response-meta.ts";
import { callMeta, readExtension } from "./call-extension.ts";
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
  /** Beyond JSON-RPC: the response metadata the handler set (`ctx.responseMeta`). */
  amoeba?: { meta: Meta };
}

/** The notification that carries one item of a result stream over WebSocket: `{ "id", "item" }`. */
export const ITEM_NOTIFICATION = "amoeba.item";
/** Cancels one of the socket's calls: `{ "id" }`. */
export const CANCEL_METHOD = "amoeba.cancel";
/** Sends one item of a call's input stream (client and bidirectional streams): `{ "id", "item" }`. */
export const SEND_METHOD = "amoeba.send";
/** Ends a call's input stream: `{ "id" }`. */
export const END_METHOD = "amoeba.end";
/** Grants credit for more stream items, both ways: `{ "id", "credit" }`. */
export const CREDIT_METHOD = "amoeba.credit";

/** The control messages of calls over WebSocket. */
const CONTROL_METHODS = new Set([CANCEL_METHOD, SEND_METHOD, END_METHOD, CREDIT_METHOD]);

/** The longest string id accepted. */
const MAX_ID_LENGTH = 256;

/** One call's hold on its channel: the signal that cancels it, its streams, and the release once it is over. */
export interface CallSlot {
  readonly signal: AbortSignal;
  /** The client's input stream, for methods that take one (WebSocket only). */
  readonly input?: AsyncIterable<unknown>;
  /** Sends one result item; resolves once the socket and the client's credit have room (WebSocket only). */
  readonly item?: (item: unknown) => Promise<void> | undefined;
  close(): void;
}

/** Where JSON-RPC requests come from (an HTTP request, a WebSocket) and how their calls run there. */
export interface RpcChannel {
  /** Metadata the edge sets on every call: the authenticated caller, trace context. */
  readonly meta: Meta | undefined;
  /** The deadline of a call that sets none, in ms from its start. */
  readonly timeout: number;
  /** The longest deadline a call may ask for, in ms. */
  readonly maxTimeout: number;
  /** Whether the channel carries streams (a WebSocket): result items, input streams, control messages. */
  readonly streams: boolean;
  /** Starts a call (`id` undefined for a notification): its slot, or why it may not start (id in use, too many in flight). */
  open(id: JsonRpcId | undefined, kind: MethodKind, credit: number | undefined): CallSlot | EdgeFailure;
  /** Over WebSocket: runs a control message (`amoeba.cancel`, `amoeba.send`, …), answering its result or why not. */
  readonly control?: (method: string, params: unknown) => unknown;
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
  const { jsonrpc, method, params, amoeba } = request as { jsonrpc?: unknown; method?: unknown; params?: unknown; amoeba?: unknown };
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

  if (channel.control && CONTROL_METHODS.has(method)) {
    const result = channel.control(method, params);
    return answer(result instanceof EdgeFailure ? failureResponse(id, result) : { jsonrpc: "2.0", id, result });
  }
  const extension = readExtension(amoeba, channel.maxTimeout);
  if (extension instanceof EdgeFailure) return answer(failureResponse(id, extension));

  const dot = method.lastIndexOf(".");
  const found = dot > 0 && !method.startsWith("rpc.") ? await host.find(method.slice(0, dot), method.slice(dot + 1)) : undefined;
  if (found === undefined) return answer(errorResponse(id, JSONRPC.METHOD_NOT_FOUND, `Method not found: ${method}`));
  const streamsIn = found.kind === "client-stream" || found.kind === "bidi-stream";
  const streamsOut = found.kind === "server-stream" || found.kind === "bidi-stream";
  if (!channel.streams && streamsOut) {
    return answer(failureResponse(id, new EdgeFailure(501, "UNIMPLEMENTED", `${method} streams its results: call it over WebSocket, or as Server-Sent Events at /rpc/${found.service}/${found.name}`)));
  }
  if (!channel.streams && streamsIn) {
    return answer(failureResponse(id, new EdgeFailure(501, "UNIMPLEMENTED", `${method} takes a stream of inputs: call it over WebSocket, or POST a JSON array to /rpc/${found.service}/${found.name}`)));
  }
  // A stream needs an id to name its items; a notification has none.
  if (notification && found.kind !== "unary") return undefined;

  let input: unknown;
  if (streamsIn) {
    if (params !== undefined) return answer(errorResponse(id, JSONRPC.INVALID_PARAMS, `Invalid params: ${method} takes its inputs as ${SEND_METHOD} messages; leave "params" out`));
  } else if (params === undefined) input = {};
  else if (Array.isArray(params)) {
    if (params.length !== 1) {
      return answer(errorResponse(id, JSONRPC.INVALID_PARAMS, "Invalid params: give the method's input as an object, or as the only element of an array"));
    }
    input = params[0];
  } else if (typeof params === "object" && params !== null) input = params;
  else return answer(errorResponse(id, JSONRPC.INVALID_PARAMS, 'Invalid params: "params" must be an object or an array'));

  const slot = channel.open(notification ? undefined : id, found.kind, extension.credit);
  if (slot instanceof EdgeFailure) return answer(failureResponse(id, slot));
  const kept = keepResponseMeta();
  try {
    const options = { timeout: extension.timeout ?? channel.timeout, signal: slot.signal, meta: callMeta(extension.meta, channel.meta), onMeta: kept.onMeta };
    const result = found.call(streamsIn ? slot.input : input, options);
    if (!streamsOut) {
      const value = await (result as Promise<unknown>);
      return answer(withMeta({ jsonrpc: "2.0", id, result: value === undefined ? null : value }, kept.meta));
    }
    let count = 0;
    for await (const item of result as CallStream<unknown>) {
      count++;
      const wait = slot.item!(item);
      if (wait) await wait;
    }
    return withMeta({ jsonrpc: "2.0", id, result: { items: count } }, kept.meta);
  } catch (error) {
    return answer(withMeta(failureResponse(id, failureOf(error, host.expose)), kept.meta));
  } finally {
    slot.close();
  }
}

/** The response with the call's response metadata in its `amoeba` member, when there is any. */
function withMeta(response: JsonRpcResponse, meta: Meta | undefined): JsonRpcResponse {
  return meta && Object.keys(meta).length > 0 ? { ...response, amoeba: { meta } } : response;
}

/** Whether a value may be a request id. */
export function isValidId(id: unknown): id is JsonRpcId {
  return id === null || (typeof id === "string" && id.length <= MAX_ID_LENGTH) || (typeof id === "number" && Number.isFinite(id));
}
