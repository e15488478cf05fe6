import { isStatusCode, type StatusCode } from "./status.ts";

const BRAND = Symbol.for("amoeba.RpcError");

/** What an RpcError may carry besides its code and message. */
export interface RpcErrorOptions {
  /** Structured details, e.g. the schema issues of INVALID_ARGUMENT. Must be plain data. */
  details?: unknown;
  /** `service.method` the call was for. */
  service?: string;
  method?: string;
  /** The node where the error arose (its name). */
  node?: string;
  /**
   * True when it is certain that no handler ran: the call was refused before
   * dispatch (draining node, unknown service, shed load, connection refused).
   * Such a call is safe to retry even when its method is not idempotent.
   */
  unprocessed?: boolean;
  /** The original stack, carried over the wire only in dev mode. */
  remoteStack?: string;
  /** The instances a balanced call tried, in order, and how each attempt ended. */
  tried?: readonly TriedInstance[];
  cause?: unknown;
}

/** One attempt of a balanced call: which instance, and the code it ended with. */
export interface TriedInstance {
  node: string;
  address: string;
  code: StatusCode;
}

/**
 * The one error type of a failed call. `code` is one of a fixed set (gRPC's
 * status codes); `service`, `method` and `node` say where it arose.
 * `instanceof` works across two loaded copies of Amoeba.
 */
export class RpcError extends Error {
  override readonly name = "RpcError";
  readonly code: StatusCode;
  readonly details: unknown;
  readonly service: string | undefined;
  readonly method: string | undefined;
  readonly node: string | undefined;
  readonly unprocessed: boolean;
  readonly remoteStack: string | undefined;
  /** The instances a balanced call tried, in order; absent when it did not go through a balancer. */
  readonly tried: readonly TriedInstance[] | undefined;

  constructor(code: StatusCode, message: string, options: RpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = isStatusCode(code) ? code : "UNKNOWN";
    this.details = options.details;
    this.service = options.service;
    this.method = options.method;
    this.node = options.node;
    this.unprocessed = options.unprocessed ?? false;
    this.remoteStack = options.remoteStack;
    this.tried = options.tried;
  }

  /** `service.method`, when known. */
  get target(): string | undefined {
    return this.service === undefined ? undefined : `${this.service}.${this.method ?? "?"}`;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** A plain-data view, for logs and JSON output. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      details: this.details,
      service: this.service,
      method: this.method,
      node: this.node,
      unprocessed: this.unprocessed,
      ...(this.tried ? { tried: this.tried } : {}),
    };
  }
}
Object.defineProperty(RpcError.prototype, BRAND, { value: true });

/** Whether `value` is an RpcError, from this copy of Amoeba or another. */
export function isRpcError(value: unknown): value is RpcError {
  return value instanceof RpcError;
}
