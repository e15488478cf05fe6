/**
 * @module Building blocks for client-side load balancing: consistent hashing,
 * latency and error tracking, outlier ejection, retry budgets, backoff and pickers.
 * Each is pure: time and randomness come in as arguments or options, so a
 * balancer built from them can be tested without clocks or luck.
 */
export { hash32 } from "./hash.ts";
export { HashRing } from "./hash-ring.ts";
export { PeakEwma, type PeakEwmaOptions } from "./peak-ewma.ts";
export { WindowedRate, WindowedSum, type WindowOptions, type WindowedRateOptions } from "./window.ts";
export { OutlierDetector, type InstanceHealth, type OutlierOptions, type OutlierState } from "./outlier.ts";
export { RetryBudget, type RetryBudgetOptions } from "./retry-budget.ts";
export { backoffDelay, type BackoffOptions } from "./backoff.ts";
export { pickP2C, pickRandom, RoundRobin, type Pickable } from "./pickers.ts";
