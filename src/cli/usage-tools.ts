/**
 * The specs of the commands that look into a cluster for people and
 * scripts: describe, publish, subscribe, top, bench, shell completion, and tokens.
 */
import { clientTlsOptions, FIND_OPTIONS, HELP_OPTION, WAIT_OPTION, type CommandSpec } from "./usage-options.ts";

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
    ...clientTlsOptions(),
    help: HELP_OPTION,
  },
  examples: [
    "amoeba describe --cluster shop calculator",
    "amoeba describe tcp://127.0.0.1:7400 calculator.add",
    "amoeba describe --cluster shop orders --json",
    "amoeba describe --registry tcp://10.0.0.2:7500 orders --tls-ca ca.crt --tls-cert ops.crt --tls-key ops.key",
  ],
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
    ...clientTlsOptions(),
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
    ...clientTlsOptions(),
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

/** `amoeba token`. */
export const TOKEN: CommandSpec = {
  name: "token",
  summary: "Make a bearer token for a node or tool, and its entry for --tokens",
  usage: "token --name <name>",
  description: [
    "Prints a new random token (32 bytes, base64url) on standard output, and on standard error the entry for the --tokens file of the nodes that are to take it: its name and the token's SHA-256, never the token. A node that takes it knows its bearer as token:<name>.",
    "The bearer presents it from $AMOEBA_TOKEN or a file named by $AMOEBA_TOKEN_FILE (startNode({ token }) in code), over TLS or on this machine only.",
  ],
  options: { name: { type: "string", value: "<name>", help: "Who the token is for: the principal token:<name> of its bearer." }, help: HELP_OPTION },
  examples: ["amoeba token --name orders > orders.token  # the entry for --tokens on standard error"],
};

/** `amoeba top`. */
export const TOP: CommandSpec = {
  name: "top",
  summary: "Watch the busiest methods of a cluster, live",
  usage: "top (--cluster <name> | --seeds <addr> | --registry <addr>) [options]",
  description: [
    "Joins the cluster (without serving anything), asks every node what it served (amoeba.stats) once per interval, and shows the methods of the cluster busiest first: calls per second, error rate, p50 and p99 latency, calls in flight on average, and how many nodes served them. Rates and latencies cover the last interval, from the difference of two readings.",
    "On a terminal the view is redrawn in place until Ctrl-C; otherwise (a pipe, a file) each interval prints a plain table. --once prints one table after one interval and exits.",
    "Per-method figures come from the nodes' metrics: serve with --metrics-port (or startNode({ metrics: true })). Nodes without them are named under the table. p50 and p99 are estimated from the metrics' latency buckets.",
    "Exit codes: 0 success, 2 bad command line, 3 no node of the cluster could be reached.",
  ],
  options: {
    ...FIND_OPTIONS,
    interval: { type: "string", value: "<time>", help: "How often to read the figures, e.g. 500ms, 1s or 1m. Default: 1s" },
    once: { type: "boolean", help: "Print one table after one interval and exit." },
    json: { type: "boolean", help: "Print each reading as one line of JSON instead of a table." },
    ...clientTlsOptions(),
    help: HELP_OPTION,
  },
  examples: ["amoeba top --cluster shop", "amoeba top --seeds udp://127.0.0.1:7946 --cluster shop --interval 2s", "amoeba top --cluster shop --once --json"],
};

/** `amoeba bench`. */
export const BENCH: CommandSpec = {
  name: "bench",
  summary: "Load a method with calls and summarize their latencies",
  usage: "bench (<address> | --cluster <name> | --seeds <addr> | --registry <addr>) <service.method> ['<json>'] [options]",
  description: [
    "Calls <service.method> with <json> (default {}) over and over, --concurrency at a time, until --calls calls ended or --duration passed, whichever comes first; then prints a summary: calls, calls per second, outcomes by error code, latency percentiles of the calls that succeeded (min, p50, p90, p99, max) and the attempts each instance got.",
    "With --cluster, --seeds or --registry the calls go through the balancer, as a node's own calls do: the look-up finds the instances and each call picks one (retries of idempotent methods included). With an address every call goes to that node. The method must be unary.",
    "A run is always bounded: at most 1000000 calls and 10 minutes; without --calls or --duration it lasts 10s. Progress shows on stderr: a bar on a terminal, a line a second otherwise. Ctrl-C stops early, cancels the calls in flight and still prints the summary.",
    "Exit codes: 0 some calls succeeded, 1 none did (or no node serves the service), 2 bad command line, JSON, unknown or non-unary method, 3 no node could be reached.",
  ],
  options: {
    ...FIND_OPTIONS,
    version: { type: "string", value: "<range>", help: "The versions of the service to accept, e.g. ^1.2 or 2.x. Default: the newest served" },
    wait: { ...WAIT_OPTION, help: "With look-up: the longest time to wait for a node that serves the service. Default: 1.5s" },
    calls: { type: "string", value: "<n>", help: "Stop after this many calls (at most 1000000)." },
    duration: { type: "string", value: "<time>", help: "Stop after this long, e.g. 30s or 2m (at most 10m). Default: 10s, or 10m with --calls" },
    concurrency: { type: "string", value: "<n>", help: "Calls in flight at once, 1 to 1000. Default: 8" },
    timeout: { type: "string", value: "<time>", help: "Each call gives up after this long, e.g. 500ms or 1s (a bare number is ms). 0 for none. Default: 30s" },
    meta: { type: "string", multiple: true, value: "<key=value>", help: "Request metadata. Repeat for several keys." },
    json: { type: "boolean", help: "Print the summary as one line of JSON." },
    ...clientTlsOptions(),
    help: HELP_OPTION,
  },
  examples: [
    `amoeba bench calculator.add '{"a":1,"b":2}' --cluster shop --calls 10000 --concurrency 16`,
    `amoeba bench calculator.sleep '{"ms":5}' --seeds udp://127.0.0.1:7946 --cluster shop --duration 30s`,
    `amoeba bench tcp://127.0.0.1:7400 calculator.add '{"a":1,"b":2}' --json`,
  ],
};
