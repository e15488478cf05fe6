/**
 * The specs of the commands that look into a cluster for people and
 * scripts: describe, publish, subscribe, and shell completion.
 */
import { FIND_OPTIONS, HELP_OPTION, WAIT_OPTION, type CommandSpec } from "./usage-options.ts";

/** `amoeba describe`. */
export const DESCRIBE: CommandSpec = {
  name: "describe",
  summary: "Show a service's methods with their input and output types",
  usage: "describe (<address> | --cluster <name> | --seeds <addr> | --registry <addr>) <service>[.<method>] [options]",
  description: [
    "Asks a node that serves <service> (amoeba.reflect) for its methods and prints each with its kind and its input and output types, written as TypeScript reads them, with each field's constraints in a comment, and an example input that satisfies the schema. With <service>.<method>, only that method.",
    "A mistyped service or method is answered with the names there are, and the nearest one.",
    "Exit codes: 0 success, 1 no such service or method, 2 bad command line, 3 no node could be reached.",
  ],
  options: {
    ...FIND_OPTIONS,
    version: { type: "string", value: "<range>", help: "The versions of the service to accept, e.g. ^1.2. Default: the newest served" },
    wait: { ...WAIT_OPTION, help: "With look-up: the longest time to wait for a node that serves the service. Default: 1.5s" },
    json: { type: "boolean", help: "Print what the node said (name, version, methods with their JSON Schemas) as one line of JSON." },
    help: HELP_OPTION,
  },
  examples: ["amoeba describe --cluster shop calculator", "amoeba describe tcp://127.0.0.1:7400 calculator.add", "amoeba describe --cluster shop orders --json"],
};

/** `amoeba publish`. */
export const PUBLISH: CommandSpec = {
  name: "publish",
  summary: "Publish an event on a topic",
  usage: "publish (<address> | --cluster <name> | --seeds <addr> | --registry <addr>) <topic> ['<json>'] [options]",
  description: [
    "Sends one event with the payload <json> (default null) on <topic> to every live node of the cluster (or to the node at <address>) that subscribed to it, as node.publish does, then leaves. Events are fire-and-forget: a subscriber whose topic schema refuses the payload drops it and logs why.",
    "Exit codes: 0 sent, 2 bad command line or JSON, 3 no node could be reached.",
  ],
  options: {
    ...FIND_OPTIONS,
    wait: WAIT_OPTION,
    json: { type: "boolean", help: "Print what was sent to whom as one line of JSON." },
    help: HELP_OPTION,
  },
  examples: [`amoeba publish --cluster shop price.changed '{"sku":"tea","price":4.2}'`, "amoeba publish tcp://127.0.0.1:7400 cache.flush"],
};

/** `amoeba subscribe`. */
export const SUBSCRIBE: CommandSpec = {
  name: "subscribe",
  summary: "Print the events published on a topic, as they come",
  usage: "subscribe (<address> | --cluster <name> | --seeds <addr> | --registry <addr>) <topic> [options]",
  description: [
    "Subscribes to <topic> on every live node of the cluster (nodes that join later too), or on the node at <address>, and prints each event as it arrives: the time, the publishing node and the payload; with --json one line of JSON per event. Runs until Ctrl-C, --count events or --for time.",
    "Exit codes: 0 success, 2 bad command line, 3 no node could be reached.",
  ],
  options: {
    ...FIND_OPTIONS,
    wait: WAIT_OPTION,
    count: { type: "string", value: "<n>", help: "Exit after this many events." },
    for: { type: "string", value: "<time>", help: "Exit after this long, e.g. 30s or 5m." },
    json: { type: "boolean", help: 'Print each event as one line of JSON: {"topic","from","at","payload"}.' },
    help: HELP_OPTION,
  },
  examples: ["amoeba subscribe --cluster shop price.changed", "amoeba subscribe --cluster shop order.placed --count 1 --json"],
};

/** `amoeba completion`. */
export const COMPLETION: CommandSpec = {
  name: "completion",
  summary: "Print a shell completion script (bash, zsh or fish)",
  usage: "completion (bash | zsh | fish)",
  description: [
    "Prints a script that completes amoeba's commands and each command's options in the shell named. Load it in the shell's start-up file.",
  ],
  options: { help: HELP_OPTION },
  examples: ['echo \'source <(amoeba completion bash)\' >> ~/.bashrc', "amoeba completion zsh > \"${fpath[1]}/_amoeba\"", "amoeba completion fish > ~/.config/fish/completions/amoeba.fish"],
};
