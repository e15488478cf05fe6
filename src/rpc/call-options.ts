import type { Meta } from "../wire/index.ts";

export type { Meta };

/** Per-call options. */
export interface CallOptions {
  /** Give up after this many ms. The callee sees the same deadline, less the time spent getting there. */
  timeout?: number;
  /** Give up at this time (ms since the epoch, as `Date.now()`). The earlier of `deadline` and `timeout` wins. */
  deadline?: number;
  /** Aborting it cancels the call; the callee's `ctx.signal` fires. */
  signal?: AbortSignal;
  /** Request metadata: string keys and values, like HTTP headers. */
  meta?: Meta;
  /** Receives the response metadata the handler set (`ctx.responseMeta`), once the call completes. */
  onMeta?: (meta: Meta) => void;
  /**
   * The idempotency key of this logical call (1–256 characters), sent as the
   * `amoeba-idempotency-key` metadata: the balancer may retry the call even
   * when it may have run, and a server that keeps records (an entity type, or
   * a service behind `idempotentCalls`) answers a key it completed with the
   * recorded result instead of running the handler again. Reuse it when you
   * retry the call yourself.
   */
  idempotencyKey?: string;
}

/** Resolves the absolute deadline of a call from its options and a default timeout. */
export function resolveDeadline(options: CallOptions | undefined, defaultTimeout: number | undefined, now: number): number | undefined {
  let deadline = options?.deadline;
  const timeout = options?.timeout ?? (deadline === undefined ? defaultTimeout : undefined);
  if (timeout !== undefined && timeout !== Infinity) {
    const byTimeout = now + timeout;
    deadline = deadline === undefined ? byTimeout : Math.min(deadline, byTimeout);
  }
  return deadline;
}
