/**
 * Exit codes of the `amoeba` command, so scripts can tell failures apart.
 * 0 success; 1 the command ran and failed (an RPC error, a module that
 * cannot be served); 2 the command line itself is wrong (unknown option,
 * bad JSON); 3 the node to call could not be reached.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  unreachable: 3,
} as const;

/** An exit code of the `amoeba` command. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure a command reports as one clear message, then exits with `exitCode`. */
export class CliError extends Error {
  override readonly name: string = "CliError";
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT.failure) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The command line is wrong: the message says what, and the help of `command` says how. */
export class UsageError extends CliError {
  override readonly name = "UsageError";
  /** The command whose help to point at; undefined for the top level. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message, EXIT.usage);
    this.command = command;
  }
}
