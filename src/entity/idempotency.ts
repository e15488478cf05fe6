/**
 * The idempotency records an entity keeps in its own state: the calls it
 * completed, by idempotency key, with their results, for a retention window.
 * They are saved in the same write as the state the call changed, so a call
 * either happened (state and record) or did not (neither), and the records
 * move with the entity when another node takes it over.
 */

/** One completed call. `result` is plain data (what the handler returned). */
export interface CompletedCall {
  /** The call's idempotency key. */
  readonly id: string;
  /** When it completed (`Date.now()` of the owner). */
  readonly at: number;
  readonly result: unknown;
}

/** The record of `id`, when it completed within `retainMs` before `now`. */
export function findCompleted(completed: readonly CompletedCall[], id: string, now: number, retainMs: number): CompletedCall | undefined {
  const since = now - retainMs;
  // Newest last: look from the end, where a retry most likely finds its call.
  for (let i = completed.length - 1; i >= 0; i--) {
    const call = completed[i]!;
    if (call.id === id) return call.at > since ? call : undefined;
  }
  return undefined;
}

/**
 * The records after `call` completed at `now`: those older than `retainMs`
 * are dropped, and beyond `maxRecords` the oldest go, so the window is the
 * shorter of the two.
 */
export function recordCompleted(
  completed: readonly CompletedCall[],
  call: CompletedCall,
  now: number,
  retainMs: number,
  maxRecords: number,
): CompletedCall[] {
  const since = now - retainMs;
  const kept = completed.filter((old) => old.at > since && old.id !== call.id);
  kept.push(call);
  return kept.length > maxRecords ? kept.slice(kept.length - maxRecords) : kept;
}
