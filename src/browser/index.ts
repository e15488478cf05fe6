/**
 * @module The browser client of the edge (`amoeba/browser`): the typed
 * `client(Contract)` of a node, over one WebSocket to an Amoeba edge. It
 * imports nothing of Node: bundle it with your app, or load the edge's own
 * copy with no build step: `import { connectEdge } from "/amoeba-client.js"`.
 */
export { connectEdge, EdgeConnection, type EdgeClientOptions, type EdgeServiceOptions, type WebSocketConstructor, type WebSocketLike } from "./connection.ts";
export { RpcError, isRpcError } from "../rpc/rpc-error.ts";
export { STATUS_CODES, type StatusCode } from "../rpc/status.ts";
export { contract, unary, stream, clientStream, bidiStream, topic, type Contract } from "../rpc/contract.ts";
export { type Client, type StreamSource } from "../rpc/context.ts";
export { service } from "../rpc/service-module.ts";
export { satisfies } from "../rpc/version.ts";
export { plainSchema } from "../rpc/plain-schema.ts";
export type { CallOptions, Meta } from "../rpc/call-options.ts";
export type { CallStream } from "../rpc/call-stream.ts";
