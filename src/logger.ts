/** The logger Amoeba writes to: any pino-compatible logger fits. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** A logger whose lines all carry `bindings` (pino's `child`); without it, Amoeba adds them to each line itself. */
  child?(bindings: Record<string, unknown>): Logger;
}

/** How much a logger writes, from everything (`debug`) to nothing (`silent`). */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** The log levels, from the most to the least verbose. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** `text` as a log level (case-insensitive), or undefined when it names none. */
export function parseLogLevel(text: string): LogLevel | undefined {
  const level = text.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : undefined;
}

/**
 * JSON lines on stderr for `level` and above, the rest dropped. A node's
 * default, at `warn`; the `amoeba` command's, at `info` unless told
 * (`--log-level`, `$AMOEBA_LOG_LEVEL`).
 */
export function createStderrLogger(bindings: Record<string, unknown>, level: LogLevel = "warn"): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const write = (name: Exclude<LogLevel, "silent">) => {
    if (LOG_LEVELS.indexOf(name) < threshold) return drop;
    return (obj: object, msg?: string) => {
      const record = { level: name, time: new Date().toISOString(), ...bindings, ...serialize(obj), ...(msg ? { msg } : {}) };
      process.stderr.write(`${JSON.stringify(record)}\n`);
    };
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

const drop = (): void => {};

/** A logger whose lines carry `bindings`: the logger's own `child` when it has one, else a wrapper that adds them. */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  if (typeof logger.child === "function") return logger.child(bindings);
  // An Error logged alone goes under `err`, as pino does, so its bindings can sit beside it.
  const line = (obj: object): object => (obj instanceof Error ? { ...bindings, err: obj } : { ...bindings, ...obj });
  return {
    debug: (obj, msg) => logger.debug(line(obj), msg),
    info: (obj, msg) => logger.info(line(obj), msg),
    warn: (obj, msg) => logger.warn(line(obj), msg),
    error: (obj, msg) => logger.error(line(obj), msg),
    child: (more) => childLogger(logger, { ...bindings, ...more }),
  };
}

function serialize(obj: object): object {
  if (obj instanceof Error) return { err: { name: obj.name, message: obj.message } };
  const err = (obj as { err?: unknown }).err;
  if (err instanceof Error) return { ...obj, err: { name: err.name, message: err.message } };
  return obj;
}
