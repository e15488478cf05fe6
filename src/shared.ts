/**
 * @module What a contract file needs, and nothing of Node: what `"amoeba"`
 * resolves to under a bundler's `browser` condition (package.json exports).
 * A file that declares contracts with `contract`, `unary`, `stream`, `topic`
 * … from `"amoeba"` can then be imported by a service and by a page alike:
 * one contract, typed end to end, with no copy for the browser. Its types
 * are those of the full entry (`dist/index.d.ts`); importing anything else
 * from `"amoeba"` in a browser bundle fails there with a missing export.
 */
export { contract, unary, stream, clientStream, bidiStream, topic } from "./rpc/contract.ts";
export { RpcError, isRpcError } from "./rpc/rpc-error.ts";
export { STATUS_CODES } from "./rpc/status.ts";
export { satisfies } from "./rpc/version.ts";
export { service } from "./rpc/service-module.ts";
