/** The logger Amoeba writes to: any pino-compatible logger fits. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** A logger whose lines all carry `bindings` (pino's `child`); without it, Amoeba adds them to each line itself. */
  child?(bindings: Record<string, unknown>): Logger;
}

/** The default: warnings and errors as JSON lines on stderr, the rest dropped. */
export function createStderrLogger(bindings: Record<string, unknown>): Logger {
  const write = (level: string) => (obj: object, msg?: string) => {
    const record = { level, time: new Date().toISOString(), ...bindings, ...serialize(obj), ...(msg ? { msg } : {}) };
    process.stderr.write(`${JSON.stringify(record)}\n`);
  };
  const drop = (): void => {};
  return { debug: drop, info: drop, warn: write("warn"), error: write("error") };
}

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
