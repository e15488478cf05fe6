/**
 * `--log-level` of the commands that run a node (serve, edge, gateway,
 * registry): how much of the node's log, handlers' `ctx.log` included, goes
 * to stderr as JSON lines. `info` unless the option or `$AMOEBA_LOG_LEVEL`
 * says otherwise.
 */
import { createStderrLogger, LOG_LEVELS, parseLogLevel, type Logger } from "../logger.ts";
import { UsageError } from "./errors.ts";

/** The environment variable read for the log level when --log-level is absent. */
export const LOG_LEVEL_ENV = "AMOEBA_LOG_LEVEL";

/** The `--log-level` option, the same on every command that has it (an `OptionSpec` of usage.ts, which imports it). */
export const LOG_LEVEL_OPTION = {
  type: "string" as const,
  value: "<level>",
  help: `What the node logs to stderr, as JSON lines: ${LOG_LEVELS.join(", ")}. Default: $${LOG_LEVEL_ENV}, else info`,
};

/** The stderr logger of a command, at the level its `--log-level` (or `$AMOEBA_LOG_LEVEL`) names. */
export function commandLogger(args: { readonly values: Readonly<Record<string, unknown>> }, command: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const option = args.values["log-level"];
  const given = typeof option === "string" ? option : env[LOG_LEVEL_ENV];
  if (given === undefined || given === "") return createStderrLogger({}, "info");
  const level = parseLogLevel(given);
  if (level === undefined) {
    const from = typeof option === "string" ? "--log-level" : `$${LOG_LEVEL_ENV}`;
    throw new UsageError(`${from} must be one of ${LOG_LEVELS.join(", ")}, got "${given}"`, command);
  }
  return createStderrLogger({}, level);
}
