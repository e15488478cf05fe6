import { constants } from "node:os";
import { RpcError } from "../index.ts";

/** Bounds on how long the CLI waits for a call, whatever the callee does. */
export interface CallGuard {
  /** `promise`, or the guard's error if the time runs out or the user interrupts first. */
  race<T>(promise: Promise<T>): Promise<T>;
  /** Aborted when the guard trips: pass it to the call, so the callee hears of it. */
  readonly signal: AbortSignal;
  /** After Ctrl-C or SIGTERM: the shell's usual exit code for it, 128 + the signal number. */
  readonly signalExit: number | undefined;
  /** Stops the timer and the signal listeners. */
  dispose(): void;
}

// How long past the call's own deadline the CLI still waits. The client's
// deadline normally fires first; the guard only catches a call that can no
// longer end by itself, so its error says what that means.
const GRACE_MS = 1_000;

/**
 * Guards one call from the CLI: an outer timer (`timeout` + a grace period,
 * none when `timeout` is Infinity) and Ctrl-C / SIGTERM, so that `amoeba call`
 * always ends even if the call never settles.
 */
export function createCallGuard(timeout: number, stuck: () => RpcError): CallGuard {
  const controller = new AbortController();
  let reject!: (error: RpcError) => void;
  const tripped = new Promise<never>((_, rejectTripped) => {
    reject = rejectTripped;
  });
  const fail = (error: RpcError): void => {
    controller.abort(error);
    reject(error);
  };
  tripped.catch(() => {});
  let signalExit: number | undefined;
  const timer = Number.isFinite(timeout) ? setTimeout(() => fail(stuck()), timeout + GRACE_MS) : undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    signalExit = 128 + (constants.signals[signal] ?? 0);
    fail(new RpcError("CANCELLED", `interrupted by ${signal}; the call was cancelled`));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    race: (promise) => Promise.race([promise, tripped]),
    signal: controller.signal,
    get signalExit() {
      return signalExit;
    },
    dispose() {
      clearTimeout(timer);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
