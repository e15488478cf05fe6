/**
 * Idempotency keys for plain services: a server interceptor that answers a
 * call whose idempotency key completed within the retention window with the
 * recorded result, without running the handler, and records the result of
 * every keyed call that succeeds. The records live in a store's standalone
 * idempotency records (`store.idempotency`); an entity type keeps its own in
 * its state instead, so that they move with it.
 */
import type { CallContext, ServerInterceptor, ServerNext } from "../rpc/context.ts";
import { IDEMPOTENCY_META, MAX_KEY_LENGTH } from "../rpc/keyed-meta.ts";
import { RpcError } from "../rpc/rpc-error.ts";
import { decodeBody, encodeBody } from "../wire/codec.ts";
import type { IdempotencyStore } from "./store.ts";

/** Options of {@link idempotentCalls}. */
export interface IdempotentCallsOptions {
  /** How long a completed call's result is kept, in ms. Default 24 h. */
  retainMs?: number;
  /**
   * How long a call's claim on its key holds, in ms: longer than any call
   * takes. A claim whose server crashed blocks its key until then, after which
   * a retry runs the call again. Default 5 minutes.
   */
  holdMs?: number;
}

/**
 * A server interceptor for unary methods: calls with an idempotency key
 * (`CallOptions.idempotencyKey`, or a client with `idempotencyKeys: true`)
 * run at most once per key within the retention window, given the store's
 * durability; calls without one pass through. A second call with a key whose
 * first call is still running is refused as unprocessed ABORTED (retry
 * later); a failed call is not recorded, so its retry runs again. Serve it
 * on every instance of the service, with one shared store.
 */
export function idempotentCalls(store: IdempotencyStore, options: IdempotentCallsOptions = {}): ServerInterceptor {
  const retainMs = options.retainMs ?? 24 * 3600_000;
  const holdMs = options.holdMs ?? 5 * 60_000;
  return (next: ServerNext) => (input: unknown, ctx: CallContext) => {
    const key = ctx.meta[IDEMPOTENCY_META];
    if (key === undefined || ctx.kind !== "unary") return next(input, ctx);
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new RpcError("INVALID_ARGUMENT", `${ctx.service}.${ctx.method}: an idempotency key must be 1 to ${MAX_KEY_LENGTH} characters`, { unprocessed: true });
    }
    return run(store, `${ctx.service}.${ctx.method} ${key}`, next, input, ctx, retainMs, holdMs);
  };
}

async function run(store: IdempotencyStore, key: string, next: ServerNext, input: unknown, ctx: CallContext, retainMs: number, holdMs: number): Promise<unknown> {
  const claim = await store.begin(key, holdMs);
  if (claim.status === "done") return (decodeBody(claim.result, 64) as { r: unknown }).r;
  if (claim.status === "running") {
    throw new RpcError("ABORTED", `${ctx.service}.${ctx.method}: a call with this idempotency key is still running; not processed — retry later`, { unprocessed: true });
  }
  let result: unknown;
  try {
    result = await next(input, ctx);
  } catch (error) {
    // It failed, or never ran: free the key so that a retry may run it.
    await store.abandon(key, claim.claim).catch(() => undefined);
    throw error;
  }
  // The call ran: its caller gets the result even if the record cannot be kept (the claim's hold ran out).
  await store.complete(key, claim.claim, encodeBody({ r: result ?? null }), retainMs).catch((error: unknown) => ctx.log.warn({ err: error }, "the result of a call with an idempotency key was not recorded"));
  return result;
}
