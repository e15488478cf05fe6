import type { Clock } from "./types.ts";

/**
 * Wall-clock time and Node timers. Timers are unref'd: membership alone never
 * keeps a process alive (its transport's socket does, until stopped).
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, fn) {
    const timer = setTimeout(fn, Math.max(0, delayMs));
    timer.unref();
    return () => clearTimeout(timer);
  },
};
