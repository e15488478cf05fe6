import { startNode, type CallContext, type ClientInterceptor } from "../../src/index.ts";
import { childArgument, fail, tell } from "../lib/child-side.ts";
import { median } from "../lib/stats.ts";
import { Bench, benchHandlers } from "./amoeba-service.ts";

// Rounds interleave the variants, so a burst of load from elsewhere on the machine hits all alike.
const ROUNDS = 7;

/**
 * The cost of one in-process call through `node.client()`, in µs: sequential
 * awaited calls, timed as a whole so the clock adds nothing per call, the
 * median of interleaved rounds. A plain `await handler(input)` is timed the
 * same way as the floor every in-process call has.
 */
async function main(): Promise<void> {
  const { calls } = childArgument<{ calls: number }>();
  const input = { a: 1, b: 2 };
  const ctx = {} as CallContext;
  const direct = async (value: { a: number; b: number }): Promise<number> => benchHandlers.add(value, ctx);

  const checked = await startNode({ name: "bench-inproc-validated" });
  checked.serve(Bench, benchHandlers);
  const checkedClient = checked.client(Bench);
  const unchecked = await startNode({ name: "bench-inproc-unvalidated", validate: { input: false } });
  unchecked.serve(Bench, benchHandlers);
  const uncheckedClient = unchecked.client(Bench);
  // One user interceptor that only calls on: what the chain itself costs per call.
  const passThrough: ClientInterceptor = (next) => (request) => next(request);
  const intercepted = await startNode({ name: "bench-inproc-intercepted", interceptors: { client: [passThrough] } });
  intercepted.serve(Bench, benchHandlers);
  const interceptedClient = intercepted.client(Bench);

  const variants = {
    direct: () => direct(input),
    validateOn: () => checkedClient.add(input),
    validateOff: () => uncheckedClient.add(input),
    intercepted: () => interceptedClient.add(input),
  };
  const perRound = Math.max(1000, Math.floor(calls / ROUNDS));
  const times: Record<keyof typeof variants, number[]> = { direct: [], validateOn: [], validateOff: [], intercepted: [] };
  for (const call of Object.values(variants)) await perCall(perRound / 2, call);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, call] of Object.entries(variants) as Array<[keyof typeof variants, () => Promise<unknown>]>) {
      times[name].push(await perCall(perRound, call));
    }
  }
  await Promise.all([checked.close({ timeout: 500 }), unchecked.close({ timeout: 500 }), intercepted.close({ timeout: 500 })]);
  tell({
    type: "overhead",
    result: {
      directUs: median(times.direct),
      validateOnUs: median(times.validateOn),
      validateOffUs: median(times.validateOff),
      interceptedUs: median(times.intercepted),
    },
  });
}

/** µs per call over `calls` sequential calls. */
async function perCall(calls: number, call: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < calls; i++) await call();
  return ((performance.now() - started) * 1000) / calls;
}

main().catch(fail);
