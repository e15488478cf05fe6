/**
 * How failures look at the edge: the HTTP status of each gRPC code, the
 * JSON-RPC error code of each, and what of an error an end user may see.
 */
import { isRpcError, type RpcError } from "../rpc/rpc-error.ts";
import { statusNumber, type StatusCode } from "../rpc/status.ts";

/**
 * The HTTP status of each code, as in gRPC's HTTP mapping (google.rpc.Code):
 * the status a REST client expects for the same failure.
 */
export const HTTP_STATUS: Readonly<Record<StatusCode, number>> = Object.freeze({
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
});

/** The JSON-RPC 2.0 error codes the specification defines. */
export const JSONRPC = Object.freeze({
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** The server-error range starts here: an RPC code n is -32000 − n (-32001 … -32016). */
  SERVER_ERROR_BASE: -32000,
});

/**
 * The JSON-RPC code of an RPC status code: INVALID_ARGUMENT is "invalid
 * params" (-32602), INTERNAL, UNKNOWN and DATA_LOSS are "internal error"
 * (-32603), and every other code n is -32000 − n in the specification's
 * server-error range (NOT_FOUND → -32005, UNAVAILABLE → -32014, …). The
 * error's `data.code` always names the RPC code.
 */
export function jsonRpcCode(code: StatusCode): number {
  if (code === "INVALID_ARGUMENT") return JSONRPC.INVALID_PARAMS;
  if (code === "INTERNAL" || code === "UNKNOWN" || code === "DATA_LOSS") return JSONRPC.INTERNAL_ERROR;
  return JSONRPC.SERVER_ERROR_BASE - statusNumber(code);
}

/**
 * A failure to answer: an HTTP status, an RPC code, a message for the end
 * user, details, and headers to add (Retry-After, WWW-Authenticate, …).
 */
export class EdgeFailure {
  readonly status: number;
  readonly code: StatusCode;
  readonly message: string;
  readonly details: unknown;
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** The JSON-RPC code, when it differs from {@link jsonRpcCode} of `code` (parse errors, invalid requests). */
  readonly jsonRpcCode: number | undefined;

  constructor(
    status: number,
    code: StatusCode,
    message: string,
    options: { details?: unknown; headers?: Record<string, string>; jsonRpcCode?: number } = {},
  ) {
    this.status = status;
    this.code = code;
    this.message = message;
    this.details = options.details;
    this.headers = options.headers;
    this.jsonRpcCode = options.jsonRpcCode;
  }

  /** The body of an error answer of `POST /rpc/…`. */
  toJSON(): { error: { code: StatusCode; message: string; details?: unknown } } {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }

  /** The `error` member of a JSON-RPC response. */
  toJsonRpc(): { code: number; message: string; data: { code: StatusCode; details?: unknown } } {
    return {
      code: this.jsonRpcCode ?? jsonRpcCode(this.code),
      message: this.message,
      data: { code: this.code, ...(this.details === undefined ? {} : { details: this.details }) },
    };
  }
}

// What an end user reads when the message itself stays inside the cluster.
const GENERIC: Readonly<Record<StatusCode, string>> = Object.freeze({
  CANCELLED: "the call was cancelled",
  UNKNOWN: "internal error",
  INVALID_ARGUMENT: "invalid argument",
  DEADLINE_EXCEEDED: "the deadline passed before the call completed",
  NOT_FOUND: "not found",
  ALREADY_EXISTS: "already exists",
  PERMISSION_DENIED: "permission denied",
  RESOURCE_EXHAUSTED: "the service is overloaded; try again later",
  FAILED_PRECONDITION: "the call cannot be made in the current state",
  ABORTED: "aborted",
  OUT_OF_RANGE: "out of range",
  UNIMPLEMENTED: "not implemented",
  INTERNAL: "internal error",
  UNAVAILABLE: "the service is unavailable; try again later",
  DATA_LOSS: "internal error",
  UNAUTHENTICATED: "unauthenticated",
});

// Codes a handler throws on purpose, with a message meant for the caller.
const APPLICATION_CODES = new Set<StatusCode>([
  "INVALID_ARGUMENT",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "RESOURCE_EXHAUSTED",
  "UNAUTHENTICATED",
]);

/**
 * What an end user sees of a failed call. Inside the cluster an error's
 * message names nodes and addresses, and an INTERNAL one may carry a
 * handler's exception text; none of that leaves through the edge unless
 * `expose` is set (dev). Kept: the code always; the message and details of
 * the codes handlers throw on purpose (NOT_FOUND, PERMISSION_DENIED, …) and of
 * schema failures (INVALID_ARGUMENT with the schema's issues). Replaced by a
 * plain sentence: infrastructure codes (UNAVAILABLE, DEADLINE_EXCEEDED,
 * INTERNAL, …) and any error raised before a handler ran (`unprocessed`), whose
 * message comes from Amoeba's machinery.
 */
export function failureOf(error: unknown, expose: boolean): EdgeFailure {
  if (error instanceof EdgeFailure) return error;
  if (!isRpcError(error)) {
    return new EdgeFailure(500, "INTERNAL", expose ? String((error as Error)?.message ?? error) : GENERIC.INTERNAL);
  }
  const rpc = error as RpcError;
  const status = HTTP_STATUS[rpc.code];
  if (expose) return new EdgeFailure(status, rpc.code, rpc.message, { details: rpc.details });
  const fromHandler = APPLICATION_CODES.has(rpc.code) && (!rpc.unprocessed || rpc.code === "INVALID_ARGUMENT");
  if (fromHandler) return new EdgeFailure(status, rpc.code, rpc.message, { details: rpc.details });
  return new EdgeFailure(status, rpc.code, GENERIC[rpc.code]);
}
