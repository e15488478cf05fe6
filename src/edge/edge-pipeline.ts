/**
 * The edge's calls pass its node's server chain before they leave: to the
 * node's server interceptors, a call from an HTTP or WebSocket client is a
 * call served like any other, whose caller is the edge's authenticated user
 * (`ctx.caller.name`, `ctx.meta["amoeba-caller"]`). So one authorization,
 * auditing or quota interceptor covers end users and other nodes alike, and
 * may refuse an end user's call before it reaches any service.
 */
import { childLogger } from "../logger.ts";
import type { Node } from "../node/index.ts";
import { nodeInternals } from "../node/node.ts";
import type { CallOptions, Meta } from "../rpc/call-options.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import type { CallContext, CallerInfo, Client, ClientOptions, ServerInterceptor, ServerNext } from "../rpc/context.ts";
import type { Contract, MethodKind } from "../rpc/contract.ts";
import { composeServer } from "../rpc/interceptor.ts";
import { CALLER_META } from "./options.ts";

/** Places one call of a public method, as the edge's client does. */
export type EdgeCall = (input: unknown, options: CallOptions) => Promise<unknown> | CallStream<unknown>;

const NO_META: Meta = Object.freeze({}) as Meta;

/**
 * `call` behind `front` (the edge's own stages: its authorization) and the
 * node's server interceptors, or `call` itself when there are none (then the
 * edge pays nothing for this).
 */
export function throughServerChain(node: Node, service: string, method: string, kind: MethodKind, call: EdgeCall, front: readonly ServerInterceptor[] = []): EdgeCall {
  const interceptors = [...front, ...nodeInternals(node).dispatcher.interceptors];
  if (interceptors.length === 0) return call;
  // The chain's last step is the call itself, with what the interceptors made of its metadata.
  const onward: ServerNext = (input, ctx) => {
    const onMeta = ctx instanceof EdgeContext ? ctx.options.onMeta : undefined;
    return call(input, { deadline: ctx.deadline, signal: ctx.signal, meta: { ...ctx.meta }, ...(onMeta ? { onMeta } : {}) });
  };
  const chain = composeServer(interceptors, onward);
  return (input, options) => {
    const ctx = new EdgeContext(node, service, method, kind, options);
    const result = chain(input, ctx);
    return streams(kind) ? asCallStream(result, ctx) : Promise.resolve(result);
  };
}

function streams(kind: MethodKind): boolean {
  return kind === "server-stream" || kind === "bidi-stream";
}

/** An interceptor may answer a stream by itself with any iterable: give the edge the CallStream it reads. */
function asCallStream(result: unknown, ctx: EdgeContext): CallStream<unknown> {
  if (typeof (result as CallStream<unknown>)?.cancel === "function") return result as CallStream<unknown>;
  const iterable = result as AsyncIterable<unknown> | Iterable<unknown>;
  return {
    cancel: (reason) => ctx.cancel(reason),
    async *[Symbol.asyncIterator]() {
      yield* iterable as AsyncIterable<unknown>;
    },
  };
}

/** A call of an end user as the server's chain sees it. */
class EdgeContext implements CallContext {
  readonly service: string;
  readonly method: string;
  readonly kind: MethodKind;
  readonly node: string;
  readonly deadline: number | undefined;
  readonly caller: CallerInfo;
  readonly responseMeta: Meta;
  readonly options: CallOptions;
  meta: Readonly<Meta>;
  forwardMeta: Readonly<Meta>;
  readonly #node: Node;
  readonly #controller = new AbortController();
  #log: CallContext["log"] | null = null;

  constructor(node: Node, service: string, method: string, kind: MethodKind, options: CallOptions) {
    this.#node = node;
    this.service = service;
    this.method = method;
    this.kind = kind;
    this.node = node.name;
    this.deadline = options.timeout === undefined ? options.deadline : Date.now() + options.timeout;
    this.meta = options.meta ?? NO_META;
    this.forwardMeta = NO_META;
    const user = this.meta[CALLER_META];
    // Anonymous end users have no name of their own: they are "anonymous" at this edge.
    this.caller = { id: `edge:${user ?? "anonymous"}`, name: user ?? "anonymous", address: `edge://${node.name}` };
    // Response metadata set by an interceptor travels back with the result.
    const onMeta = options.onMeta;
    this.responseMeta = {};
    const signal = options.signal === undefined ? this.#controller.signal : AbortSignal.any([options.signal, this.#controller.signal]);
    this.options = {
      ...options,
      signal,
      onMeta: (meta) => onMeta?.({ ...this.responseMeta, ...meta }),
    };
  }

  get signal(): AbortSignal {
    return this.options.signal!;
  }

  onAbort(listener: (reason: unknown) => void): void {
    const signal = this.signal;
    if (signal.aborted) listener(signal.reason);
    else signal.addEventListener("abort", () => listener(signal.reason), { once: true });
  }

  get log(): CallContext["log"] {
    return (this.#log ??= childLogger(this.#node.logger, { service: this.service, method: this.method, caller: this.caller.name }));
  }

  set log(logger: CallContext["log"]) {
    this.#log = logger;
  }

  client<C extends Contract>(contract: C, options?: ClientOptions): Client<C> {
    return nodeInternals(this.#node).createClient(contract, { ...options, inherit: { deadline: this.deadline, signal: this.signal, meta: this.forwardMeta } });
  }

  cancel(reason?: string): void {
    this.#controller.abort(new Error(reason ?? "cancelled by the caller"));
  }
}
