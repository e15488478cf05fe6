import type { Meta } from "../wire/index.ts";
import { resolveDeadline, type CallOptions } from "./call-options.ts";
import type { Contract } from "./contract.ts";
import type { CallRequest, Client, ClientNext, ClientOptions } from "./context.ts";
import { failedOutcome } from "./failed-stream.ts";
import { IDEMPOTENCY_META, MAX_KEY_LENGTH } from "./keyed-meta.ts";
import { RpcError } from "./rpc-error.ts";
import { compatibleRange } from "./version.ts";

/**
 * Builds the typed client of a contract over `place`, the caller's chain
 * (interceptors down to where the call goes). A handler's nested calls
 * inherit its deadline, signal and forwarded metadata through `inherit`.
 */
export function createClient<C extends Contract>(contract: C, place: ClientNext, options: ClientOptions, defaultTimeout: number | undefined): Client<C> {
  const version = options.version ?? compatibleRange(contract.version);
  const inherit = options.inherit;
  const baseMeta = mergeMeta(inherit?.meta, options.meta);
  const timeout = options.timeout ?? defaultTimeout;
  const keyEveryCall = options.idempotencyKeys === true;
  const client = Object.create(null) as Record<string, unknown>;
  for (const [method, def] of Object.entries(contract.methods)) {
    const kind = def.kind;
    client[method] = (input: unknown, callOptions?: CallOptions) => {
      let deadline = resolveDeadline(callOptions, timeout, Date.now());
      let signal = callOptions?.signal;
      if (inherit) {
        if (inherit.deadline !== undefined && (deadline === undefined || inherit.deadline < deadline)) deadline = inherit.deadline;
        if (inherit.signal) signal = signal ? AbortSignal.any([signal, inherit.signal]) : inherit.signal;
      }
      let meta = callOptions?.meta ? mergeMeta(baseMeta, callOptions.meta) : baseMeta;
      const idempotencyKey = callOptions?.idempotencyKey ?? (keyEveryCall ? globalThis.crypto.randomUUID() : undefined);
      if (idempotencyKey !== undefined) {
        if (typeof idempotencyKey !== "string" || idempotencyKey.length === 0 || idempotencyKey.length > MAX_KEY_LENGTH) {
          const error = new RpcError("INVALID_ARGUMENT", `${contract.name}.${method}: idempotencyKey must be a string of 1 to ${MAX_KEY_LENGTH} characters`, { unprocessed: true });
          return failedOutcome(kind, error);
        }
        meta = { ...meta, [IDEMPOTENCY_META]: idempotencyKey };
      }
      const request: CallRequest = {
        service: contract.name,
        method,
        kind,
        version,
        input,
        deadline,
        signal,
        meta,
        onMeta: callOptions?.onMeta,
        idempotent: def.idempotent,
        // Set later; present from the start so every request keeps one shape.
        serverMicros: undefined,
        attempts: undefined,
      };
      return place(request);
    };
  }
  return Object.freeze(client) as Client<C>;
}

function mergeMeta(a: Readonly<Meta> | undefined, b: Meta | undefined): Meta | undefined {
  if (!a) return b;
  if (!b) return a;
  return { ...a, ...b };
}
