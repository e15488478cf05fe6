/** How a JSON-RPC error from the edge becomes the RpcError a node's client would throw. */
import { RpcError } from "../rpc/rpc-error.ts";
import { isStatusCode, type StatusCode } from "../rpc/status.ts";

/** The JSON-RPC codes of failures that happen before a call (the edge answers them itself). */
const BY_JSONRPC_CODE: Record<number, StatusCode> = {
  [-32700]: "INVALID_ARGUMENT",
  [-32600]: "INVALID_ARGUMENT",
  [-32601]: "NOT_FOUND",
  [-32602]: "INVALID_ARGUMENT",
  [-32603]: "INTERNAL",
};

/** The RpcError of a JSON-RPC `error` member: its `data.code` when the edge named one, else from the JSON-RPC code. */
export function errorFromResponse(error: unknown, service: string, method: string): RpcError {
  const body = (typeof error === "object" && error !== null ? error : {}) as { code?: unknown; message?: unknown; data?: { code?: unknown; details?: unknown } };
  const named = body.data?.code;
  const code: StatusCode = isStatusCode(named) ? named : (typeof body.code === "number" && BY_JSONRPC_CODE[body.code]) || "UNKNOWN";
  const message = typeof body.message === "string" ? body.message : "the edge answered an error without a message";
  return new RpcError(code, message, { service, method, ...(body.data?.details === undefined ? {} : { details: body.data.details }) });
}

/** An error of the call itself, raised on this side (a deadline, a cancellation, a lost connection). */
export function localError(code: StatusCode, message: string, service: string, method: string): RpcError {
  return new RpcError(code, message, { service, method });
}
