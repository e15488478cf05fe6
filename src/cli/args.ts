import { parseArgs } from "node:util";
import { MAX_RECENT_CALLS } from "../observe/recent-calls.ts";
import { parseDuration } from "./duration.ts";
import { UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { commandHelp, type CommandSpec } from "./usage.ts";

/** The parsed command line of one command. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * Parses `argv` against a command's options with `node:util` parseArgs
 * (strict: an unknown option is an error, not silently ignored). Its errors
 * become UsageErrors whose message names the command.
 */
export function parseCommandArgs(command: CommandSpec, argv: readonly string[]): ParsedArgs {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {};
  for (const [name, spec] of Object.entries(command.options)) {
    options[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (error) {
    throw new UsageError(describeParseError(error), command.name);
  }
}

/**
 * Parses a command's line; when it asks for `--help`, prints the command's
 * help instead and returns undefined (the command then exits 0).
 */
export function parseOrHelp(command: CommandSpec, argv: readonly string[], io: Io): ParsedArgs | undefined {
  const args = parseCommandArgs(command, argv);
  if (args.values.help !== true) return args;
  io.out(commandHelp(command));
  return undefined;
}

/** Reads a string option. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === "string" ? value : undefined;
}

/** Reads a repeatable string option (empty when absent). */
export function listOption(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  return Array.isArray(value) ? value : [];
}

/** Reads a boolean flag. */
export function flagOption(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** Parses a time in ms as every command reads one (`--timeout 500`, `500ms`, `1s`, `2m`; see readDuration). */
export function parseMs(text: string, option: string, command: string): number {
  return parseDuration(text, option, command, 0, Number.MAX_SAFE_INTEGER);
}

/** A whole number ≥ 1 given to `--option`, or a UsageError. */
export function parseCount(text: string, option: string, command: string): number {
  if (!/^[1-9]\d*$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--${option} takes a whole number of at least 1, not "${text}"`, command);
  }
  return Number(text);
}

/** The size of the recent-calls ring given to `--recent-calls`: 1 to the ring's limit, or a UsageError. */
export function parseRecentCalls(text: string, command: string): number {
  const count = parseCount(text, "recent-calls", command);
  if (count > MAX_RECENT_CALLS) throw new UsageError(`--recent-calls keeps at most ${MAX_RECENT_CALLS} calls, not ${count}`, command);
  return count;
}

/** A TCP port (0 for any free one) given to `--option`, or a UsageError. */
export function parsePort(text: string, option: string, command: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65_535) throw new UsageError(`--${option} takes a port number from 0 to 65535, not "${text}"`, command);
  return Number(text);
}

// parseArgs' own messages suggest `--` tricks and quote oddly; say it plainly.
function describeParseError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = (error as Error).message;
  const quoted = /'([^']+)'/.exec(message)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${quoted ?? message}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const option = quoted?.split(" ")[0] ?? "an option";
      return message.includes("does not take") ? `option ${option} takes no value` : `option ${option} needs a value`;
    }
    default:
      return message.charAt(0).toLowerCase() + message.slice(1);
  }
}

/**
 * Rejects early an address another process cannot reach: the CLI only
 * speaks to other processes, so `inproc://` is meaningless here. The node
 * checks the rest of the address itself.
 */
export function checkSocketAddress(address: string, command: string): string {
  if (!/^(tcp|unix):\/\/./.test(address)) {
    throw new UsageError(`"${address}" is not an address the CLI can use; use tcp://host:port or unix:///path.sock`, command);
  }
  return address;
}
