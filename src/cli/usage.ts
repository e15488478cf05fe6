/**
 * What each command accepts, written once: the option table that
 * `node:util` parseArgs reads and the help text a user reads come from the
 * same spec, so the two cannot drift apart.
 */

/** One option of a command. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  /** May be given more than once; the values are collected in order. */
  readonly multiple?: boolean;
  readonly short?: string;
  /** How the value is shown in help, e.g. `<ms>`. */
  readonly value?: string;
  readonly help: string;
}

/** A command: how it is called, what it does, its options and examples. */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** The line after `Usage:`, without the leading `amoeba`. */
  readonly usage: string;
  /** Paragraphs shown after the usage line, separated by blank lines. */
  readonly description: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly examples: readonly string[];
}

const HELP_OPTION: OptionSpec = { type: "boolean", short: "h", help: "Show this help." };

/** `amoeba serve`. */
export const SERVE: CommandSpec = {
  name: "serve",
  summary: "Serve the services a module exports",
  usage: "serve <module> [options]",
  description: [
    [
      "Imports <module> (a .ts or .js file, relative to the current directory) and serves what it exports:",
      "  export const services = [{ contract, handlers }, ...]",
      "or a default export of the same shape, or one exported contract together with an export named `handlers`.",
    ].join("\n"),
    "Prints one line per address once ready. On SIGINT or SIGTERM it drains (calls in flight finish) and exits 0; a second signal stops it at once.",
  ],
  options: {
    listen: {
      type: "string",
      multiple: true,
      value: "<address>",
      help: "Where to listen: tcp://host:port or unix:///path.sock. Repeat for several. Default: tcp://127.0.0.1:7400",
    },
    name: { type: "string", value: "<name>", help: "The node's name, shown to callers and in errors. Default: <host>-<pid>" },
    dev: { type: "boolean", help: "Dev mode: error stacks travel to callers and results are checked against the contract. Never in production." },
    "drain-timeout": { type: "string", value: "<ms>", help: "On SIGINT/SIGTERM, how long calls in flight may take to finish. Default: 10000" },
    help: HELP_OPTION,
  },
  examples: [
    "amoeba serve examples/calculator/service.ts --listen tcp://127.0.0.1:7400 --name calc-1",
    "amoeba serve ./services.ts --listen unix:///tmp/calc.sock --listen tcp://0.0.0.0:7400",
  ],
};

/** `amoeba call`. */
export const CALL: CommandSpec = {
  name: "call",
  summary: "Call a method of a running node",
  usage: "call <address> <service.method> ['<json>'] [options]",
  description: [
    "Connects to the node at <address>, calls <service.method> with <json> (default {}) and prints the result as JSON.",
    "No contract is needed: the service's version and the method's kind (unary or streaming) come from the node's reflection service, amoeba.reflect. --stream or --kind say the kind instead, for a node without reflection.",
    "Exit codes: 0 success, 1 the call failed (ERROR <CODE>: <message> on stderr), 2 bad command line or JSON, 3 the node could not be reached.",
  ],
  options: {
    stream: { type: "boolean", help: "Treat the method as streaming its results (declared with stream()) without asking the node." },
    kind: {
      type: "string",
      value: "<kind>",
      help: "The method's kind, without asking the node: unary, server-stream, client-stream or bidi-stream. Client-stream and bidi-stream calls take a JSON array and send its items one by one.",
    },
    timeout: { type: "string", value: "<ms>", help: "Give up after this many ms; the callee gets the same deadline. 0 for none. Default: 30000" },
    meta: { type: "string", multiple: true, value: "<key=value>", help: "Request metadata. Repeat for several keys." },
    json: { type: "boolean", help: "Compact output: every value on one line; an error as one JSON object on stderr." },
    help: HELP_OPTION,
  },
  examples: [
    `amoeba call tcp://127.0.0.1:7400 calculator.add '{"a":1,"b":2}'`,
    `amoeba call unix:///tmp/calc.sock calculator.count '{"to":3}'`,
    `amoeba call tcp://127.0.0.1:7400 calculator.sleep '{"ms":500}' --timeout 100 --meta traceparent=00-abc-def-01`,
  ],
};

/** `amoeba help`. */
export const HELP: CommandSpec = {
  name: "help",
  summary: "Show the help of a command",
  usage: "help [command]",
  description: ["Shows the help of <command>, or the list of commands."],
  options: { help: HELP_OPTION },
  examples: ["amoeba help serve"],
};

/** Every command, in the order help lists them. */
export const COMMANDS: readonly CommandSpec[] = [SERVE, CALL, HELP];

/** The top level: `amoeba --help`. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 4;
  return [
    "Usage: amoeba <command> [options]",
    "",
    "Amoeba's command-line tool: serve services from a module, and call them.",
    "",
    "Commands:",
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    "",
    "Options:",
    "  -h, --help        Show this help.",
    "  -v, --version     Print Amoeba's version.",
    "",
    "Example:",
    "  amoeba serve examples/calculator/service.ts",
    `  amoeba call tcp://127.0.0.1:7400 calculator.add '{"a":1,"b":2}'`,
    "",
    "Run 'amoeba help <command>' or 'amoeba <command> --help' for a command's options.",
  ].join("\n");
}

/** The help of one command. */
export function commandHelp(command: CommandSpec): string {
  const rows = Object.entries(command.options).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : "    "}--${name}${option.value ? ` ${option.value}` : ""}`;
    return [flag, option.help] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return [
    `Usage: amoeba ${command.usage}`,
    "",
    ...command.description.flatMap((paragraph) => [paragraph, ""]),
    "Options:",
    ...rows.map(([flag, help]) => `  ${flag.padEnd(width)}${help}`),
    "",
    command.examples.length > 1 ? "Examples:" : "Example:",
    ...command.examples.map((example) => `  ${example}`),
  ].join("\n");
}
