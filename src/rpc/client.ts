import type { BalancePolicy } from "../balance/policy.ts";
import type { Meta } from "../wire/index.ts";
import { resolveDeadline, type CallOptions } from "./call-options.ts";
import type { CallObserver } from "./call-observer.ts";
import type { CallStream } from "./call-stream.ts";
import type { Client, Contract } from "./contract.ts";
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
  /** @internal A handler's context passes its deadline, signal and trace metadata here. */
  inherit?: { deadline?: number | undefined; signal?: AbortSignal; meta?: Readonly<Meta> };
}

/** Places one call somewhere: the node decides where (in-process, a connection, look-up). */
export type Invoke = (request: CallRequest) => Promise<unknown> | CallStream<unknown>;

// Trace context travels to nested calls by itself (W3C Trace Context).
const PROPAGATED_META = ["traceparent", "tracestate"] as const;

/** Builds the typed client of a contract over `invoke`; `observer` traces its calls. */
export function createClient<C extends Contract>(
  contract: C,
  invoke: Invoke,
  options: ClientOptions,
  defaultTimeout: number | undefined,
  observer: CallObserver | null = null,
): Client<C> {
  const version = options.version ?? compatibleRange(contract.version);
  const inherit = options.inherit;
  const baseMeta = mergeMeta(inheritedMeta(inherit?.meta), options.meta);
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
        // Set when the result arrives; present from the start so every request keeps one shape.
        serverMicros: undefined,
        trace: undefined,
      };
      return observer === null ? invoke(request) : observer.outgoing(request, invoke);
    };
  }
  return Object.freeze(client) as Client<C>;
}

function inheritedMeta(meta: Readonly<Meta> | undefined): Meta | undefined {
  if (!meta) return undefined;
  let out: Meta | undefined;
  for (const key of PROPAGATED_META) {
    const value = meta[key];
    if (value !== undefined) (out ??= {})[key] = value;
  }
  return out;
}

function mergeMeta(a: Meta | undefined, b: Meta | undefined): Meta | undefined {
  if (!a) return b;
  if (!b) return a;
  return { ...a, ...b };
}
