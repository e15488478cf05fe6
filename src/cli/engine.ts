import type { Engine } from "../index.ts";
import { UsageError } from "./errors.ts";

/** Environment variables the CLI reads NATS credentials from, so that they stay out of the process list. */
export const NATS_ENV = {
  user: "AMOEBA_NATS_USER",
  pass: "AMOEBA_NATS_PASS",
  token: "AMOEBA_NATS_TOKEN",
  nkeySeed: "AMOEBA_NATS_NKEY_SEED",
} as const;

/** Checks `--engine nats://host:port`; a UsageError names the command otherwise. */
export function checkEngineUrl(url: string, command: string): string {
  if (!/^(nats|tls):\/\/[^/\s]+:\d{1,5}\/?$/.test(url)) {
    throw new UsageError(`--engine takes a NATS server as nats://host:port, not "${url}"`, command);
  }
  return url;
}

/**
 * The NATS engine for `--engine`, loaded only when asked for, so that the
 * rest of the CLI never loads the NATS client.
 */
export async function loadEngine(url: string, env: NodeJS.ProcessEnv = process.env): Promise<Engine> {
  const { nats } = await import("../nats/index.ts");
  const read = (name: string): string | undefined => (env[name] === "" ? undefined : env[name]);
  const user = read(NATS_ENV.user);
  const pass = read(NATS_ENV.pass);
  const token = read(NATS_ENV.token);
  const nkeySeed = read(NATS_ENV.nkeySeed);
  return nats({
    servers: [url],
    ...(user !== undefined ? { user, ...(pass !== undefined ? { pass } : {}) } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(nkeySeed !== undefined ? { nkeySeed } : {}),
  });
}
