import type { CallStream } from "../rpc/call-stream.ts";
import type { CallRequest } from "../rpc/context.ts";
import { isRpcError, RpcError, type TriedInstance } from "../rpc/rpc-error.ts";
import { failedStream } from "../rpc/failed-stream.ts";
import { ENTITY_META, hasIdempotencyKey } from "../rpc/keyed-meta.ts";
import { withParentSignal } from "../rpc/parent-signal.ts";
import type { StatusCode } from "../rpc/status.ts";
import { backoffDelay } from "./backoff.ts";
import type { ResolvedPolicy } from "./policy.ts";
import type { ServiceBalancer } from "./service-balancer.ts";
import type { Target } from "./target.ts";

/** What a failed call may have done, as the balancer judges it. */
const INSTANCE_FAILURES: ReadonlySet<StatusCode> = new Set(["UNAVAILABLE", "INTERNAL", "UNKNOWN", "DATA_LOSS", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"]);
/** Codes an idempotent call is retried on, on another instance. */
const RETRY_IF_IDEMPOTENT: ReadonlySet<StatusCode> = new Set(["UNAVAILABLE", "INTERNAL", "UNKNOWN", "RESOURCE_EXHAUSTED"]);
/** Codes an unprocessed call is not retried on: the call itself is at fault, or its caller gave up. */
const FINAL_EVEN_IF_UNPROCESSED: ReadonlySet<StatusCode> = new Set(["CANCELLED", "DEADLINE_EXCEEDED", "INVALID_ARGUMENT", "FAILED_PRECONDITION", "UNAUTHENTICATED", "PERMISSION_DENIED"]);

/**
 * Places one call through a balancer: unary calls are retried where safe and
 * may be hedged; streaming calls go to one instance (their input cannot be
 * replayed). `none` makes the error for a service with no usable instance.
 */
export function balancedCall(balancer: ServiceBalancer, policy: ResolvedPolicy, request: CallRequest, none: () => RpcError): Promise<unknown> | CallStream<unknown> {
  const key = policy.strategy === "owner" ? request.meta?.[ENTITY_META] : policy.hashKey ? hashKeyOf(policy, request) : undefined;
  if (key instanceof RpcError) return reject(request, key);
  const now = performance.now();
  const target = balancer.pick(policy, key, null, now);
  if (!target) return reject(request, balancer.targets().length > 0 ? busy(balancer, policy, request) : none());
  if (request.kind !== "unary") return target.invoke(request);
  balancer.budget.recordCall(now);
  if (request.idempotent && (policy.hedgeDelayMs !== undefined || policy.hedgePercentile !== undefined)) {
    const delay = policy.hedgeDelayMs ?? balancer.recent.percentile(policy.hedgePercentile!);
    if (delay !== undefined) return new HedgedCall(balancer, policy, request, key, delay).start(target);
  }
  return attempt(balancer, policy, target, request, now, true, key);
}

/**
 * One attempt on one instance, with its figures recorded. With `mayRetry`
 * (the first attempt of a call), a failure goes on to {@link retry} in the
 * same handler: one promise per call, not two.
 */
function attempt(
  balancer: ServiceBalancer,
  policy: ResolvedPolicy,
  target: Target,
  request: CallRequest,
  started: number,
  mayRetry: boolean,
  key: string | undefined,
): Promise<unknown> {
  target.begin();
  const measured = target.connected();
  let result: Promise<unknown>;
  try {
    result = target.invoke(request) as Promise<unknown>;
  } catch (error) {
    result = Promise.reject(error);
  }
  return result.then(
    (value) => {
      const now = performance.now();
      balancer.metrics?.called(request.service, request.method, target.name, "OK", (now - started) / 1000);
      const serverMicros = request.serverMicros;
      target.end(true, measured ? now - started : undefined, now, serverMicros === undefined ? undefined : serverMicros / 1000);
      if (measured && policy.hedgePercentile !== undefined) balancer.recent.observe(now - started);
      balancer.outliers.record(target.id, true, now);
      return value;
    },
    (error: unknown) => {
      const now = performance.now();
      balancer.metrics?.called(request.service, request.method, target.name, isRpcError(error) ? error.code : "UNKNOWN", (now - started) / 1000);
      if (isRpcError(error) && error.unprocessed && error.code === "RESOURCE_EXHAUSTED") {
        // Shed for load: busy, not broken. Its calls in flight already steer p2c away.
        target.release();
      } else {
        const failed = !isRpcError(error) || INSTANCE_FAILURES.has(error.code);
        target.end(!failed, measured ? now - started : undefined, now);
        balancer.outliers.record(target.id, !failed, now);
      }
      if (!mayRetry) throw error;
      return retry(balancer, policy, request, key, [{ target, error }], 0);
    },
  );
}

/**
 * After failed attempts (`failed`, the last one's error last): more attempts on
 * other instances while safe, in budget and in time. `used` retries were spent
 * already (a hedge that went out is one).
 */
async function retry(
  balancer: ServiceBalancer,
  policy: ResolvedPolicy,
  first: CallRequest,
  key: string | undefined,
  failed: ReadonlyArray<{ target: Target; error: unknown }>,
  used: number,
): Promise<unknown> {
  // The waits between attempts listen on a signal: a parent call is folded into it.
  const request = withParentSignal(first);
  const tried = [...failed];
  const exclude = new Set<Target>(failed.map((each) => each.target));
  let error = tried[tried.length - 1]!.error;
  let why = used > 0 ? "hedged" : "";
  for (let retries = used + 1; retries <= policy.retries; retries++) {
    if (!retryable(error, request)) break;
    const unprocessed = isRpcError(error) && error.unprocessed;
    if (!unprocessed) {
      const pause = backoffDelay(retries, { baseMs: policy.backoffBaseMs, maxMs: policy.backoffMaxMs });
      if (!(await sleep(pause, request))) break;
    }
    if (timeLeft(request) <= 0 || request.signal?.aborted) break;
    let target = balancer.pick(policy, key, exclude, performance.now());
    if (!target) {
      // Every instance was tried: one of them again, after a pause (a connection that
      // dropped may be back; an instance that refused may have room now).
      if (unprocessed) {
        const pause = backoffDelay(retries, { baseMs: policy.backoffBaseMs, maxMs: policy.backoffMaxMs });
        if (!(await sleep(pause, request)) || timeLeft(request) <= 0) break;
      }
      target = balancer.pick(policy, key, null, performance.now());
      if (!target) {
        why = "no instance to try";
        break;
      }
    }
    if (!balancer.budget.tryRetry()) {
      why = "retry budget spent";
      break;
    }
    balancer.metrics?.retried(request.service);
    exclude.add(target);
    try {
      return await attempt(balancer, policy, target, request, performance.now(), false, key);
    } catch (next) {
      error = next;
      tried.push({ target, error: next });
    }
  }
  throw annotate(error, tried, why);
}

function retryable(error: unknown, request: CallRequest): boolean {
  if (!isRpcError(error)) return false;
  if (error.unprocessed) return !FINAL_EVEN_IF_UNPROCESSED.has(error.code);
  // A call with an idempotency key is answered from its record if it ran: as safe to retry as an idempotent one.
  return (request.idempotent === true || hasIdempotencyKey(request.meta)) && RETRY_IF_IDEMPOTENT.has(error.code);
}

/**
 * A unary idempotent call with one hedge: when the first copy has not answered
 * after `delay` ms, a second goes to another instance; the first answer wins
 * and the other copy is cancelled.
 */
class HedgedCall {
  readonly #balancer: ServiceBalancer;
  readonly #policy: ResolvedPolicy;
  readonly #request: CallRequest;
  readonly #key: string | undefined;
  readonly #delay: number;
  readonly #copies: Array<{ target: Target; abort: AbortController; error?: unknown }> = [];
  #timer: NodeJS.Timeout | undefined;
  #settled = false;
  #resolve!: (value: unknown) => void;
  #reject!: (error: unknown) => void;

  constructor(balancer: ServiceBalancer, policy: ResolvedPolicy, request: CallRequest, key: string | undefined, delay: number) {
    this.#balancer = balancer;
    this.#policy = policy;
    this.#request = request;
    this.#key = key;
    this.#delay = delay;
  }

  start(first: Target): Promise<unknown> {
    const promise = new Promise<unknown>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#launch(first);
    this.#timer = setTimeout(() => this.#hedge(), this.#delay);
    return promise;
  }

  #hedge(): void {
    this.#timer = undefined;
    if (this.#settled || timeLeft(this.#request) <= 0) return;
    const exclude = new Set(this.#copies.map((copy) => copy.target));
    const target = this.#balancer.pick(this.#policy, this.#key, exclude, performance.now());
    // No hedge (no other usable instance, or the budget is spent): the call stays an
    // unhedged one, and a failure of its one copy is retried as such.
    if (target && this.#balancer.budget.tryRetry()) {
      this.#balancer.metrics?.retried(this.#request.service);
      this.#launch(target);
    }
  }

  #launch(target: Target): void {
    const abort = new AbortController();
    const copy: { target: Target; abort: AbortController; error?: unknown } = { target, abort };
    this.#copies.push(copy);
    const outer = this.#request.signal;
    const request = { ...this.#request, signal: outer ? AbortSignal.any([outer, abort.signal]) : abort.signal };
    attempt(this.#balancer, this.#policy, target, request, performance.now(), false, this.#key).then(
      (value) => this.#win(value, copy),
      (error: unknown) => this.#lose(error, copy),
    );
  }

  #win(value: unknown, winner: { abort: AbortController }): void {
    if (this.#settled) return;
    this.#finish();
    for (const copy of this.#copies) if (copy !== winner) copy.abort.abort();
    this.#resolve(value);
  }

  #lose(error: unknown, copy: { target: Target; error?: unknown }): void {
    if (this.#settled) return;
    copy.error = error;
    if (this.#copies.some((other) => other.error === undefined)) return;
    // Every copy failed: go on as an unhedged call would, with the hedge counted as
    // one retry and every instance tried so far left out. The failed copy comes last.
    this.#finish();
    const failed = this.#copies.filter((each) => each !== copy).map((each) => ({ target: each.target, error: each.error }));
    failed.push({ target: copy.target, error });
    retry(this.#balancer, this.#policy, this.#request, this.#key, failed, this.#copies.length - 1).then(this.#resolve, this.#reject);
  }

  #finish(): void {
    this.#settled = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** The error a caller sees, saying which instances were tried and why it stopped there. */
function annotate(error: unknown, tried: ReadonlyArray<{ target: Target; error: unknown }>, why: string): unknown {
  if (!isRpcError(error)) return error;
  const list: TriedInstance[] = tried.map(({ target, error: each }) => ({
    node: target.name,
    address: target.address,
    code: isRpcError(each) ? each.code : "UNKNOWN",
  }));
  // One attempt: the error stays as it arose (an application's message is its own); `tried` says where.
  const names = list.map((each) => `${each.node} (${each.code})`).join(", ");
  const message = list.length > 1 || why ? `${error.message} [tried ${names}${why ? `; ${why}` : ""}]` : error.message;
  return new RpcError(error.code, message, {
    details: error.details,
    service: error.service,
    method: error.method,
    node: error.node,
    // It may have run if any attempt may have.
    unprocessed: tried.every(({ error: each }) => isRpcError(each) && each.unprocessed),
    remoteStack: error.remoteStack,
    tried: list,
    cause: error,
  });
}

function busy(balancer: ServiceBalancer, policy: ResolvedPolicy, request: CallRequest): RpcError {
  const limit = Number.isFinite(policy.maxPerInstance) ? ` at its limit of ${policy.maxPerInstance} calls in flight from this node,` : "";
  return new RpcError(
    "RESOURCE_EXHAUSTED",
    `${request.service}.${request.method}: each of the ${balancer.targets().length} instances is${limit} ejected after failures, or being probed; not processed — retry later`,
    { service: request.service, method: request.method, unprocessed: true },
  );
}

function hashKeyOf(policy: ResolvedPolicy, request: CallRequest): string | RpcError {
  try {
    const key = policy.hashKey!(request.input);
    if (typeof key === "string") return key;
    throw new TypeError(`it returned ${typeof key}, not a string`);
  } catch (error) {
    return new RpcError("INVALID_ARGUMENT", `${request.service}.${request.method}: balance.hashKey failed on this input: ${(error as Error).message}`, {
      service: request.service,
      method: request.method,
      unprocessed: true,
    });
  }
}

function reject(request: CallRequest, error: RpcError): Promise<unknown> | CallStream<unknown> {
  if (request.kind === "unary" || request.kind === "client-stream") return Promise.reject(error);
  return failedStream(error);
}

function timeLeft(request: CallRequest): number {
  return request.deadline === undefined ? Infinity : request.deadline - Date.now();
}

/** Waits `ms` (cut to the deadline); false when the call was cancelled meanwhile. */
function sleep(ms: number, request: CallRequest): Promise<boolean> {
  const wait = Math.min(ms, Math.max(0, timeLeft(request)));
  const signal = request.signal;
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, wait);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
