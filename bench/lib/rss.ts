import { readFileSync } from "node:fs";

/**
 * Resident set size of another process in bytes, read from /proc so the
 * measured process does no work for it. Undefined where /proc is missing
 * (then the figure is left out rather than guessed).
 */
export function readRss(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; `stop()` (idempotent) returns the peak in bytes. */
export function sampleRss(pid: number, everyMs = 50): { stop(): number | undefined } {
  let peak: number | undefined;
  const take = (): void => {
    const rss = readRss(pid);
    if (rss !== undefined && (peak === undefined || rss > peak)) peak = rss;
  };
  take();
  const timer = setInterval(take, everyMs);
  let stopped = false;
  return {
    stop() {
      if (!stopped) {
        stopped = true;
        clearInterval(timer);
        take();
      }
      return peak;
    },
  };
}
