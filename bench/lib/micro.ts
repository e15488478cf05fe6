import type { MicroResult } from "./messages.ts";

// Results flow into this module-level sink so the optimizer cannot drop the measured work.
let sink = 0;

/** Feeds a value to the sink; micro-benchmarked functions should return through it. */
export function consume(value: number): void {
  sink = (sink + value) | 0;
}

/**
 * Nanoseconds per call of `fn`: batches sized to about a millisecond, a
 * warm-up, then the median batch over `budgetMs`. The warm-up runs at least
 * 20 000 calls (within 0.6 s): some paths, such as msgpackr's first large
 * strings, stay slow for thousands of calls before the JIT settles.
 */
export function measure(name: string, fn: () => void, budgetMs: number): MicroResult {
  let batch = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    if (performance.now() - t0 >= 1 || batch >= 1 << 20) break;
    batch *= 2;
  }
  const warmStart = performance.now();
  for (let calls = 0; ; calls += batch) {
    const elapsed = performance.now() - warmStart;
    if ((elapsed >= budgetMs / 4 && calls >= 20_000) || elapsed >= 600) break;
    for (let i = 0; i < batch; i++) fn();
  }
  const perOp: number[] = [];
  const until = performance.now() + budgetMs;
  while (performance.now() < until && perOp.length < 10_000) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    perOp.push(((performance.now() - t0) * 1e6) / batch);
  }
  perOp.sort((a, b) => a - b);
  return { name, nsPerOp: perOp[perOp.length >> 1]! };
}
