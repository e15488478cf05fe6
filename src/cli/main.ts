/**
 * @module The `amoeba` command: parses the command line and hands it to one
 * command (serve, call, ls, nodes, top, bench, registry, edge, dashboard, help). Every command returns an exit code rather
 * than exiting, so this is the one place that ends the process.
 */
import { readFileSync } from "node:fs";
import { parseCommandArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import { flushProcessIo, processIo, type Io } from "./io.ts";
import { disableColor, paletteFor } from "./color.ts";
import { didYouMean } from "./suggest.ts";
import { COMMANDS, commandHelp, HELP, mainHelp } from "./usage.ts";
import { tokenFromEnv } from "./token-args.ts";

type Runner = (argv: readonly string[], io: Io) => Promise<number>;

// Commands load on demand: `amoeba --help` and usage errors then start
// without loading the whole library.
const RUNNERS: Record<string, () => Promise<Runner>> = {
  serve: async () => (await import("./serve.ts")).runServe,
  call: async () => (await import("./call.ts")).runCall,
  describe: async () => (await import("./describe.ts")).runDescribe,
  publish: async () => (await import("./events.ts")).runPublish,
  subscribe: async () => (await import("./events.ts")).runSubscribe,
  completion: async () => (await import("./completion.ts")).runCompletion,
  token: async () => (await import("./token.ts")).runToken,
  ls: async () => (await import("./ls.ts")).runLs,
  nodes: async () => (await import("./nodes.ts")).runNodes,
  top: async () => (await import("./top.ts")).runTop,
  bench: async () => (await import("./bench.ts")).runBench,
  registry: async () => (await import("./registry.ts")).runRegistry,
  edge: async () => (await import("./edge.ts")).runEdge,
  dashboard: async () => (await import("./dashboard.ts")).runDashboard,
  gateway: async () => (await import("./gateway.ts")).runGateway,
  route: async () => (await import("./route.ts")).runRoute,
  help: async () => runHelp,
};

/** The commands that dial nodes, and present $AMOEBA_TOKEN when they do. */
const DIALING = new Set(Object.keys(RUNNERS).filter((name) => !["help", "token", "completion"].includes(name)));

/** Runs the command line `argv` (without `node` and the script) and returns the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  // --no-color goes with any command: colour off for the whole run.
  if (argv.includes("--no-color")) disableColor();
  const [first, ...rest] = argv.filter((arg) => arg !== "--no-color");
  const command = first !== undefined && Object.hasOwn(RUNNERS, first) ? first : undefined;
  try {
    if (first === undefined) {
      // No command is a usage mistake: show the help where mistakes go.
      io.err(mainHelp());
      return EXIT.usage;
    }
    if (first === "-h" || first === "--help") {
      io.out(mainHelp());
      return EXIT.ok;
    }
    if (first === "-v" || first === "--version") {
      io.out(packageVersion());
      return EXIT.ok;
    }
    if (command === undefined) {
      const names = COMMANDS.map((c) => c.name);
      throw new UsageError(first.startsWith("-") ? `unknown option ${first}` : `unknown command "${first}"${didYouMean(first, names)}; the commands are ${names.join(", ")}`);
    }
    // A token in the environment that is no token is a mistake of the command line, whatever the command does with it.
    if (DIALING.has(command)) tokenFromEnv(command);
    const run = await RUNNERS[command]!();
    return await run(rest, io);
  } catch (error) {
    return reportFailure(error, command, io);
  }
}

/**
 * Runs `main` as the process: exits with its code once output is flushed.
 * Used by `bin/amoeba.js`.
 */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  // `amoeba call … | head -1` closes the pipe early; that is not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(EXIT.ok);
    throw error;
  });
  const code = await main(argv);
  await flushProcessIo();
  process.exit(code);
}

async function runHelp(argv: readonly string[], io: Io): Promise<number> {
  const args = parseCommandArgs(HELP, argv);
  const [name, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError("expects at most one command name", "help");
  if (args.values.help === true) {
    io.out(commandHelp(HELP));
    return EXIT.ok;
  }
  if (name === undefined) {
    io.out(mainHelp());
    return EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"${didYouMean(name, COMMANDS.map((c) => c.name))}; the commands are ${COMMANDS.map((c) => c.name).join(", ")}`, "help");
  io.out(commandHelp(command));
  return EXIT.ok;
}

function reportFailure(error: unknown, command: string | undefined, io: Io): number {
  const prefix = paletteFor(process.stderr).red(command === undefined ? "amoeba" : `amoeba ${command}`);
  if (error instanceof UsageError) {
    const where = error.command ?? command;
    io.err(`${prefix}: ${error.message}`);
    io.err(`Run 'amoeba ${where === undefined ? "" : `${where} `}--help' for usage.`);
    return error.exitCode;
  }
  if (error instanceof CliError) {
    io.err(`${prefix}: ${error.message}`);
    return error.exitCode;
  }
  // A bug in Amoeba or the served module: the stack is what helps here.
  io.err(`${prefix}: unexpected error: ${(error as Error)?.stack ?? String(error)}`);
  return EXIT.failure;
}

function packageVersion(): string {
  // Two levels up from src/cli/ (and from dist/cli/ once built).
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}
