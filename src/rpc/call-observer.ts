import type { Meta } from "../wire/index.ts";
import type { CallStream } from "./call-stream.ts";
import type { CallerInfo } from "./context.ts";
import type { CallRequest } from "./outgoing-call.ts";
import type { RpcError } from "./rpc-error.ts";

/** Places one call; what a client does without tracing. */
export type PlaceCall = (request: CallRequest) => Promise<unknown> | CallStream<unknown>;

/** Learns where each attempt of a traced outgoing call goes (it sits on `CallRequest.trace`). */
export interface AttemptObserver {
  /** An attempt leaves for `node` at `address` (`inproc://self` for this node). */
  attempt(node: string, address: string): void;
}

/** The trace of one call served here, from its arrival to its outcome. */
export interface ServedCallTrace {
  /** The W3C trace id the call belongs to (its caller's, or a new one). */
  readonly traceId: string;
  /** The span of this call here. */
  readonly spanId: string;
  /** Metadata of the handler's nested calls (`ctx.client`): a `traceparent` naming this call's span. */
  readonly nestedMeta: Readonly<Meta>;
  /** Calls `fn` as the handler runs: inside this call's span, the active one, when spans are on. */
  run<T, A>(fn: (this: T, arg: A) => void, self: T, arg: A): void;
  /** The call ended with `code` (`"OK"` or a status code), and `error` when it failed. */
  end(code: string, error?: RpcError): void;
}

/**
 * A node's tracing: it sees each call begin and end, on both sides. A node
 * that traces nothing has none (null), and its calls pay one check for it.
 */
export interface CallObserver {
  /** Places an outgoing call through `place`, traced. */
  outgoing(request: CallRequest, place: PlaceCall): Promise<unknown> | CallStream<unknown>;
  /** A call arrived for a handler here: its trace, or null for a call not traced (a built-in service). */
  incoming(service: string, method: string, meta: Readonly<Meta>, caller: CallerInfo): ServedCallTrace | null;
}
