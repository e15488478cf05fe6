import { UsageError } from "./errors.ts";

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000 };

/**
 * A time given to `--option` as a number and a unit (`500ms`, `1s`, `1.5s`,
 * `2m`), in ms; a UsageError for anything else or for a time outside
 * [`min`, `max`]. A bare number is refused: `--duration 10` could mean
 * seconds or milliseconds.
 */
export function parseDuration(text: string, option: string, command: string, min: number, max: number): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!match) throw new UsageError(`--${option} takes a time such as 500ms, 10s or 2m, not "${text}"`, command);
  const ms = Math.round(Number(match[1]) * UNITS[match[2]!]!);
  if (ms < min || ms > max) throw new UsageError(`--${option} takes a time from ${formatDuration(min)} to ${formatDuration(max)}, not ${text}`, command);
  return ms;
}

/** `250ms`, `10s`, `1.5s`, `10m`: a time in ms as {@link parseDuration} reads it. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Number((ms / 1_000).toFixed(3))}s`;
}

/** A latency for people, in ms with three significant digits or so: `0.14 ms`, `13.0 ms`, `108 ms`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
}
