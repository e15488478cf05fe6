/**
 * What a node may keep of each call it serves, besides timings, when asked
 * (`traces: { bodies, logs }`; off by default: bodies and log lines may hold
 * personal data): the input and output as JSON text cut to a size, and the
 * lines the handler wrote through `ctx.log`. They go to the recent-calls ring
 * only, beside the call's trace and span ids.
 *
 * @module
 */
import type { Logger } from "../logger.ts";

/** The most bytes of a body kept, and the most log lines per call. */
export const MAX_BODY_BYTES = 65_536;
export const MAX_LOG_LINES = 100;

/** One line a handler logged during a call. */
export interface LoggedLine {
  level: "debug" | "info" | "warn" | "error";
  /** When, in ms since the epoch. */
  at: number;
  msg: string;
  /** The line's own fields as JSON text (cut like bodies), when it had any. */
  fields?: string;
}

/** What the node keeps of a call's bodies and logs. */
export interface DetailsOptions {
  bodies: number;
  logs: number;
}

/** `traces.bodies` and `traces.logs`, checked; null when neither is on. */
export function detailsOptions(bodies: unknown, logs: unknown): DetailsOptions | null {
  const check = (value: unknown, name: string, max: number): number => {
    if (value === undefined) return 0;
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > max) throw new TypeError(`traces.${name} must be an integer from 0 to ${max}; got ${String(value)}`);
    return value as number;
  };
  const options = { bodies: check(bodies, "bodies", MAX_BODY_BYTES), logs: check(logs, "logs", MAX_LOG_LINES) };
  return options.bodies === 0 && options.logs === 0 ? null : options;
}

/** `value` as JSON text of at most `max` characters (cut with `…`); streams and what JSON cannot say are named instead. */
export function bodyText(value: unknown, max: number): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_key, item: unknown) => (item instanceof Uint8Array ? `(${item.length} bytes)` : typeof item === "bigint" ? String(item) : item));
  } catch {
    text = undefined;
  }
  if (text === undefined) text = `(${typeof value})`;
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}

/** `base`, and every line also kept in `lines` (up to `max`; past it, counted in the last). */
export function tappedLogger(base: Logger, lines: LoggedLine[], max: number, fieldsMax: number): Logger {
  const keep = (level: LoggedLine["level"], obj: unknown, msg?: string): void => {
    if (lines.length >= max) return;
    // pino also takes a message alone: ctx.log.info("text").
    const text = typeof obj === "string" ? obj : (msg ?? "");
    const own = typeof obj === "object" && obj !== null && Object.keys(obj).length > 0 ? bodyText(obj, fieldsMax) : undefined;
    lines.push({ level, at: Date.now(), msg: text.slice(0, fieldsMax), ...(own === undefined ? {} : { fields: own }) });
  };
  return {
    debug: (obj, msg) => (keep("debug", obj, msg), base.debug(obj, msg)),
    info: (obj, msg) => (keep("info", obj, msg), base.info(obj, msg)),
    warn: (obj, msg) => (keep("warn", obj, msg), base.warn(obj, msg)),
    error: (obj, msg) => (keep("error", obj, msg), base.error(obj, msg)),
  };
}
