import type { ChildMessage, ParentMessage } from "./messages.ts";

/**
 * The child's half of the IPC channel. Every child exits on its own when the
 * orchestrator goes away (its channel disconnects), so a crashed or killed
 * orchestrator leaves no process behind.
 */

// An orphan exits whatever it is doing, even if it has not reached `onStop` yet.
process.on("disconnect", () => {
  setTimeout(() => process.exit(0), 2000);
});

/** Sends a message to the orchestrator (no-op when not forked, e.g. run by hand). */
export function tell(message: ChildMessage): void {
  process.send?.(message);
}

/** Calls `onStop` when the orchestrator asks us to stop or disappears. */
export function onStop(onStop: () => Promise<void> | void): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // Closing must not hang the run: exit anyway after a moment.
    setTimeout(() => process.exit(0), 2000);
    Promise.resolve()
      .then(onStop)
      .finally(() => process.exit(0));
  };
  process.on("message", (message: ParentMessage) => {
    if (message?.type === "stop") stop();
  });
  process.on("disconnect", stop);
  if (process.send && !process.connected) stop();
}

/** Calls `handler` with each `run` request of the orchestrator, one at a time, in order. */
export function onRun(handler: (request: Extract<ParentMessage, { type: "run" }>) => Promise<void>): void {
  let queue = Promise.resolve();
  process.on("message", (message: ParentMessage) => {
    if (message?.type === "run") queue = queue.then(() => handler(message)).catch(fail);
  });
}

/** Reports an error to the orchestrator, then exits with status 1. */
export function fail(error: unknown): void {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  tell({ type: "error", message });
  // Give the IPC message time to leave before exiting.
  setTimeout(() => process.exit(1), 100);
}

/** The JSON argument the orchestrator passed as argv[2]. */
export function childArgument<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error("expected a JSON argument from the bench orchestrator");
  return JSON.parse(raw) as T;
}
