import { UsageError } from "./errors.ts";

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A time as every option of every command reads it, in ms: a number and a
 * unit (`500ms`, `1s`, `1.5s`, `2m`, `1h`), or a bare number, which is
 * milliseconds (`500`). Undefined when the text is not a time.
 */
export function readDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNITS[match[2] ?? "ms"]!;
  return Number.isFinite(ms) && ms <= Number.MAX_SAFE_INTEGER ? Math.round(ms) : undefined;
}

/**
 * A time given to `--option` (see {@link readDuration}), in whole ms; a
 * UsageError for anything else or for a time outside [`min`, `max`].
 */
export function parseDuration(text: string, option: string, command: string, min: number, max: number): number {
  const ms = readDuration(text);
  if (ms === undefined) throw new UsageError(`--${option} takes a time such as 500ms, 10s or 2m (a bare number is ms), not "${text}"`, command);
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
