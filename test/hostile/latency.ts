/**
 * The well-behaved caller's latency, quiet and under attack. The bar
 * is a p99 no worse than twice the quiet one; on a loaded two-core machine a
 * quiet p99 of a fraction of a millisecond doubles from scheduling noise
 * alone, so the bound asserted is max(2 × quiet, quiet + 25 ms), and the
 * figures are printed for the record.
 */
import assert from "node:assert/strict";
import type { Fixture } from "./harness.ts";

/** Latencies of sequential `add` calls, in ms: `count` of them, or as many as fit until `until` settles (bounded). */
export async function sampleLatency(f: Fixture, options: { count?: number; until?: Promise<unknown>; maxMs?: number }): Promise<number[]> {
  const out: number[] = [];
  let settled = options.until === undefined;
  options.until?.then(
    () => (settled = true),
    () => (settled = true),
  );
  const started = Date.now();
  const maxMs = options.maxMs ?? 60_000;
  const min = options.count ?? 200;
  for (let i = 0; i < 20_000 && Date.now() - started < maxMs && (out.length < min || !settled); i++) {
    const t = performance.now();
    assert.equal(await f.calc.add({ a: i, b: 1 }, { timeout: 5_000 }), i + 1);
    out.push(performance.now() - t);
  }
  return out;
}

/** The p-th percentile (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Prints the quiet and attacked figures and asserts the attacked p99 within max(2 × quiet, quiet + 25 ms). */
export function assertLatencyHeld(what: string, quiet: readonly number[], attacked: readonly number[]): void {
  const q50 = percentile(quiet, 50);
  const q99 = percentile(quiet, 99);
  const a50 = percentile(attacked, 50);
  const a99 = percentile(attacked, 99);
  const bound = Math.max(2 * q99, q99 + 25);
  console.log(
    `# ${what}: well-behaved caller p50 ${q50.toFixed(2)} → ${a50.toFixed(2)} ms, p99 ${q99.toFixed(2)} → ${a99.toFixed(2)} ms ` +
      `(${quiet.length} quiet calls, ${attacked.length} under attack; bound ${bound.toFixed(2)} ms)`,
  );
  assert.ok(a99 <= bound, `${what}: p99 under attack ${a99.toFixed(2)} ms exceeds max(2 × quiet, quiet + 25 ms) = ${bound.toFixed(2)} ms`);
}
