/**
 * @module The edge: HTTP, JSON-RPC 2.0, Server-Sent Events and WebSocket in
 * front of an Amoeba cluster, for browsers and HTTP clients
 * (`import { startEdge } from "amoeba/edge"`).
 */
export { startEdge, createEdge, Edge } from "./edge.ts";
export type { FetchHandlerOptions } from "./fetch-adapter.ts";
export {
  CALLER_META,
  EDGE_LABEL,
  DEFAULT_EDGE_LIMITS,
  edgeCaller,
  type Authenticate,
  type EdgeCaller,
  type EdgeLimits,
  type EdgeOptions,
  type EdgeTlsOptions,
} from "./options.ts";
export type { CorsOptions } from "./cors.ts";
export type { RateLimitOptions } from "./rate-limit.ts";
export { HTTP_STATUS, JSONRPC, jsonRpcCode } from "./errors.ts";
export { ITEM_NOTIFICATION, CANCEL_METHOD, SEND_METHOD, END_METHOD, CREDIT_METHOD, type JsonRpcId, type JsonRpcResponse } from "./jsonrpc.ts";
export { RESPONSE_META_PREFIX } from "./http-routes.ts";
