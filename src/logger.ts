/** The logger Amoeba writes to: any pino-compatible logger fits. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
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

function serialize(obj: object): object {
  if (obj instanceof Error) return { err: { name: obj.name, message: obj.message } };
  const err = (obj as { err?: unknown }).err;
  if (err instanceof Error) return { ...obj, err: { name: err.name, message: err.message } };
  return obj;
}
