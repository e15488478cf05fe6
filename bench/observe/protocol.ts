import type { Child } from "../lib/children.ts";
import type { LoadResult } from "../lib/messages.ts";
import type { TraceVariant } from "./variants.ts";

/** One variant's measured stretch in one round. */
export interface TracedPhase {
  variant: TraceVariant;
  round: number;
  result: LoadResult;
  /** The server's CPU time per call (all its threads), µs; NaN where /proc is missing. */
  serverCpuUs: number;
}

export type ObserveMessage = { type: "traced-phase"; phase: TracedPhase } | { type: "traced-done" };

/** Child side: sends one message to the orchestrator. */
export function report(message: ObserveMessage): void {
  process.send?.(message);
}

/** Orchestrator side: the child's next message, which must be of `type`. */
export async function expectMessage<T extends ObserveMessage["type"]>(child: Child, type: T, timeoutMs: number): Promise<Extract<ObserveMessage, { type: T }>> {
  const message = (await child.next(timeoutMs)) as unknown as ObserveMessage;
  if (message.type !== type) throw new Error(`${child.label}: expected "${type}", got "${message.type}"`);
  return message as Extract<ObserveMessage, { type: T }>;
}
