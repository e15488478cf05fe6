import type { BalancePolicy } from "../balance/policy.ts";
import type { Meta } from "../wire/index.ts";
import { resolveDeadline, type CallOptions } from "./call-options.ts";
import type { Client, Contract } from "./contract.ts";
import type { ClientInterceptor, ClientNext } from "./interceptor.ts";
import type { CallRequest } from "./outgoing-call.ts";
import { compatibleRange } from "./version.ts";

/** Options of a client. */
export interface ClientOptions {
  /** Default timeout of each call, in ms. Overrides the node's `defaultTimeout`. */
  timeout?: number;
  /** Metadata sent with every call; a call's own `meta` adds to it. */
  meta?: Meta;
  /** The versions of the service to accept. Default: `^` the contract's version. */
  version?: string;
  /** Only instances whose labels include these, e.g. `{ zone: "a" }` (instances found by look-up). */
  labels?: Record<string, string>;
  /** How calls pick an instance and survive failures: strategy, locality, retries, hedging. */
  balance?: BalancePolicy;
  /** The same, per method; each adds to `balance`. */
  methods?: Record<string, BalancePolicy>;
  /**
   * Interceptors around this client's calls, outermost first, inside the
   * node's own client interceptors (see docs/interceptors.md).
   */
  interceptors?: readonly ClientInterceptor[];
  /** @internal A handler's context passes its deadline, signal and trace metadata here. */
  inherit?: { deadline?: number | undefined; signal?: AbortSignal; meta?: Readonly<Meta> };
}

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
      const request: CallRequest = {
        service: contract.name,
        method,
        kind,
        version,
        input,
        deadline,
        signal,
        meta: callOptions?.meta ? mergeMeta(baseMeta, callOptions.meta) : baseMeta,
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
