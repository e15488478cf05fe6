import type { ErrorBody } from "../wire/index.ts";
import { RpcError } from "./rpc-error.ts";
import { statusFromNumber, statusNumber } from "./status.ts";

/** Where an error arose, to fill in what the thrower left out. */
export interface ErrorOrigin {
  service: string;
  method: string;
  node: string;
}

/**
 * Turns whatever a handler threw into an RpcError. An RpcError passes through
 * as is; anything else becomes INTERNAL, with its stack kept only in dev mode.
 */
export function toRpcError(error: unknown, origin: ErrorOrigin, dev: boolean): RpcError {
  if (error instanceof RpcError) {
    if (error.service !== undefined && error.node !== undefined) return error;
    return new RpcError(error.code, error.message, {
      details: error.details,
      service: error.service ?? origin.service,
      method: error.method ?? origin.method,
      node: error.node ?? origin.node,
      unprocessed: error.unprocessed,
      remoteStack: dev ? error.stack : undefined,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new RpcError("INTERNAL", `${origin.service}.${origin.method} failed on node ${origin.node}: ${message}`, {
    ...origin,
    remoteStack: dev && error instanceof Error ? error.stack : undefined,
  });
}

/** The ERROR frame body of an RpcError. Stacks travel only when `dev`. */
export function errorToWire(error: RpcError, dev: boolean): ErrorBody {
  return [
    statusNumber(error.code),
    error.message,
    error.details ?? null,
    error.service ?? "",
    error.method ?? "",
    error.node ?? "",
    error.unprocessed ? 1 : 0,
    dev ? (error.remoteStack ?? null) : null,
  ];
}

/** Rebuilds an RpcError from an ERROR frame body; a malformed body still yields a clear error. */
export function errorFromWire(body: unknown, fallback: ErrorOrigin): RpcError {
  if (!Array.isArray(body) || typeof body[0] !== "number" || typeof body[1] !== "string") {
    return new RpcError("INTERNAL", `${fallback.service}.${fallback.method}: the callee sent a malformed error`, fallback);
  }
  const text = (value: unknown, otherwise: string): string => (typeof value === "string" && value !== "" ? value : otherwise);
  return new RpcError(statusFromNumber(body[0]), body[1], {
    details: body[2] ?? undefined,
    service: text(body[3], fallback.service),
    method: text(body[4], fallback.method),
    node: text(body[5], fallback.node),
    unprocessed: body[6] === 1,
    remoteStack: typeof body[7] === "string" ? body[7] : undefined,
  });
}
