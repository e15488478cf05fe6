/** A small service whose instances can be told to be slow or to fail, for balancing tests. */
import { z } from "zod";
import { contract, RpcError, unary, type Handlers } from "../../src/index.ts";

export const Probe = contract("balance.probe", "1.0.0", {
  /** Idempotent: answers with the name of the node that ran it. */
  who: unary({ input: z.object({ key: z.string().optional() }), output: z.string(), idempotent: true }),
  /** Not idempotent: counts executions per request key. */
  apply: unary({ input: z.object({ key: z.string() }), output: z.string() }),
});

/** How one instance behaves; change the fields while it runs. */
export interface Behaviour {
  /** Delay before answering, ms. */
  delayMs: number;
  /** Share of calls that fail with INTERNAL (0..1), taken in turn, not at random. */
  failShare: number;
  /** Fail every call with this code. */
  failWith?: "UNAVAILABLE" | "INTERNAL";
}

/** The handlers of one instance, and what they saw. */
export function probeInstance(name: string, behaviour: Behaviour = { delayMs: 0, failShare: 0 }) {
  const executions = new Map<string, number>();
  const signals: AbortSignal[] = [];
  let served = 0;
  let failTurn = 0;
  const run = async (key: string | undefined, signal: AbortSignal): Promise<string> => {
    served++;
    if (key !== undefined) executions.set(key, (executions.get(key) ?? 0) + 1);
    signals.push(signal);
    if (behaviour.delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, behaviour.delayMs);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (behaviour.failWith) throw new RpcError(behaviour.failWith, `${name} fails everything`);
    failTurn += behaviour.failShare;
    if (failTurn >= 1) {
      failTurn -= 1;
      throw new RpcError("INTERNAL", `${name} failed this one`);
    }
    return name;
  };
  const handlers: Handlers<typeof Probe> = {
    who: ({ key }, ctx) => run(key, ctx.signal),
    apply: ({ key }, ctx) => run(key, ctx.signal),
  };
  return {
    handlers,
    behaviour,
    executions,
    signals,
    get served() {
      return served;
    },
  };
}
