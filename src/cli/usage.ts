/**
 * What each command accepts, written once: the option table that
 * `node:util` parseArgs reads and the help text a user reads come from the
 * same spec, so the two cannot drift apart.
 */
import { LOG_LEVEL_OPTION } from "./log-level.ts";

import {
  CLUSTER_KEY_ENV,
  clientTlsOptions,
  FIND_OPTIONS,
  HELP_OPTION,
  insecureOption,
  policyOption,
  tokensOption,
  recentCallsOption,
  SEED_WAIT_OPTIONS,
  serverTlsOptions,
  WAIT_OPTION,
  type CommandSpec,
} from "./usage-options.ts";
import { BENCH, COMPLETION, DESCRIBE, PUBLISH, SUBSCRIBE, TOKEN, TOP } from "./usage-tools.ts";

export { CLUSTER_KEY_ENV, type CommandSpec, type OptionSpec } from "./usage-options.ts";

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
    [
      "Look-up: with --cluster, --seeds, --registry or --gossip the node joins a cluster, so that `amoeba ls`, `amoeba call --cluster` and other nodes find its services by name.",
      "Gossip (the default) finds the nodes of the same cluster on this machine with no seeds; --seeds reaches nodes elsewhere. Its ready line then also prints its gossip address, a seed for others.",
      "--registry registers the node with a registry server (amoeba registry) instead. On SIGINT or SIGTERM the node leaves the cluster, so others see it as left, not dead.",
    ].join("\n"),
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
    "drain-timeout": { type: "string", value: "<time>", help: "On SIGINT/SIGTERM, how long calls in flight may take to finish. Default: 10s" },
    "metrics-port": {
      type: "string",
      value: "<port>",
      help: "Serve Prometheus metrics at http://127.0.0.1:<port>/metrics (0: a free port, printed when ready). Default: no metrics",
    },
    "recent-calls": recentCallsOption("the node's"),
    concurrency: {
      type: "string",
      value: "<n>",
      help: "Run at most this many calls at once; more are refused at once with RESOURCE_EXHAUSTED (not processed), and callers try another instance. Default: no limit",
    },
    cluster: { type: "string", value: "<name>", help: "Join this cluster; alone, it meets the cluster's other nodes on this machine (local rendezvous). Default: default" },
    seeds: {
      type: "string",
      multiple: true,
      value: "<udp://host:port>",
      help: "Gossip addresses of nodes already in the cluster. Repeat or separate with commas for several.",
    },
    registry: { type: "string", value: "<address>", help: "Register with this registry server (amoeba registry) instead of gossiping; several separated by commas." },
    "cluster-key": {
      type: "string",
      value: "<key>",
      help: `Authenticate gossip and every connection with this key (HMAC-SHA256): a keyed node serves only peers that prove it. Every node of the cluster needs the same. Default: $${CLUSTER_KEY_ENV}, which keeps the key out of the process list.`,
    },
    gossip: { type: "string", value: "<udp://host:port>", help: "Where to listen for gossip. Default: udp://127.0.0.1:0 (a free port)" },
    engine: {
      type: "string",
      value: "<nats://host:port>",
      help: "Serve through this NATS server: the node listens at nats://<node id>, joins look-up on NATS (--cluster names the cluster) and answers NATS's service discovery ($SRV.PING, $SRV.INFO, $SRV.STATS). No TCP listener unless --listen asks for one. Credentials: $AMOEBA_NATS_USER and $AMOEBA_NATS_PASS, $AMOEBA_NATS_TOKEN or $AMOEBA_NATS_NKEY_SEED.",
    },
    ...serverTlsOptions("the node", "the registry and the nodes it calls"),
    policy: policyOption("the node serves"),
    tokens: tokensOption("the node"),
    insecure: insecureOption("the node"),
    ...SEED_WAIT_OPTIONS,
    "log-level": LOG_LEVEL_OPTION,
    help: HELP_OPTION,
  },
  examples: [
    "amoeba serve examples/calculator/service.ts --listen tcp://127.0.0.1:7400 --name calc-1",
    "amoeba serve ./services.ts --listen unix:///tmp/calc.sock --listen tcp://0.0.0.0:7400 --cluster shop  # key in $AMOEBA_CLUSTER_KEY",
    "amoeba serve examples/calculator/service.ts --listen tcp://127.0.0.1:0 --cluster shop",
    "amoeba serve examples/calculator/service.ts --listen tcp://127.0.0.1:0 --cluster shop --seeds udp://127.0.0.1:7946",
    "amoeba serve examples/calculator/service.ts --listen tcp://127.0.0.1:0 --registry tcp://127.0.0.1:7500",
    "amoeba serve examples/calculator/service.ts --engine nats://127.0.0.1:4222 --cluster shop",
    "amoeba serve ./services.ts --listen tcp://0.0.0.0:7400 --tls-cert node.crt --tls-key node.key --tls-ca ca.crt --policy policy.json",
  ],
};

/** `amoeba call`. */
export const CALL: CommandSpec = {
  name: "call",
  summary: "Call a method of a running node",
  usage: "call (<address> | --cluster <name> | --seeds <addr> | --registry <addr>) <service.method> ['<json>'] [options]",
  description: [
    "Connects to the node at <address>, calls <service.method> with <json> (default {}) and prints the result as JSON.",
    "With --cluster, --seeds or --registry instead of an address, it finds a node serving the service through the look-up (one matching --version, the least loaded) and calls it there. When none matches, the error says which versions exist and where.",
    "No contract is needed: the service's version and the method's kind (unary or streaming) come from the node's reflection service, amoeba.reflect. --stream or --kind say the kind instead, for a node without reflection.",
    "Exit codes: 0 success, 1 the call failed (ERROR <CODE>: <message> on stderr), 2 bad command line or JSON, 3 the node could not be reached.",
  ],
  options: {
    ...FIND_OPTIONS,
    version: { type: "string", value: "<range>", help: "The versions of the service to accept, e.g. ^1.2 or 2.x. Default: the newest the node serves" },
    wait: { ...WAIT_OPTION, help: "With look-up: the longest time to wait for a node that serves the service. Default: 1.5s" },
    stream: { type: "boolean", help: "Treat the method as streaming its results (declared with stream()) without asking the node." },
    kind: {
      type: "string",
      value: "<kind>",
      help: "The method's kind, without asking the node: unary, server-stream, client-stream or bidi-stream. Client-stream and bidi-stream calls take a JSON array and send its items one by one.",
    },
    timeout: { type: "string", value: "<time>", help: "Give up after this long, e.g. 500ms, 1s or 2m (a bare number is ms); the callee gets the same deadline. 0 for none. Default: 30s" },
    meta: { type: "string", multiple: true, value: "<key=value>", help: "Request metadata. Repeat for several keys." },
    json: { type: "boolean", help: "Compact output: every value on one line; an error as one JSON object on stderr." },
    ...clientTlsOptions(),
    help: HELP_OPTION,
  },
  examples: [
    `amoeba call tcp://127.0.0.1:7400 calculator.add '{"a":1,"b":2}'`,
    `amoeba call tcp://10.0.0.5:7400 calculator.add '{"a":1,"b":2}' --tls-ca ca.crt --tls-cert me.crt --tls-key me.key`,
    `amoeba call unix:///tmp/calc.sock calculator.count '{"to":3}'`,
    `amoeba call tcp://127.0.0.1:7400 calculator.sleep '{"ms":500}' --timeout 100 --meta traceparent=00-abc-def-01`,
    `amoeba call --cluster shop calculator.add '{"a":1,"b":2}' --version ^1.2`,
    `amoeba call --registry tcp://127.0.0.1:7500 calculator.add '{"a":1,"b":2}'`,
    `amoeba call --engine nats://127.0.0.1:4222 --cluster shop calculator.add '{"a":1,"b":2}'`,
  ],
};

/** `amoeba ls`. */
export const LS: CommandSpec = {
  name: "ls",
  summary: "List the services of a cluster and their instances",
  usage: "ls [service] (--cluster <name> | --seeds <addr> | --registry <addr>) [options]",
  description: [
    "Joins the cluster for a moment (without serving anything), gathers its view, and lists each service with its versions and instances: node, state, load and addresses. It then leaves the cluster quietly.",
    "With [service], lists only that service, with the methods and kinds of each version, asked of one instance through reflection (amoeba.reflect).",
    "With --stats, asks every node (amoeba.stats) and adds per instance: calls it runs now (IN-FLIGHT) and refused for its concurrency limit (SHED); and, as the nodes calling it see it, calls in flight to it (OUTSTANDING), peak-EWMA latency, error rate, and how many callers have it ejected (EJECTED, of callers).",
    "Exit codes: 0 success, 1 the service was not found, 2 bad command line, 3 no node of the cluster could be reached.",
  ],
  options: {
    ...FIND_OPTIONS,
    version: { type: "string", value: "<range>", help: "Only the versions in this range, e.g. ^1.2. Default: all" },
    wait: WAIT_OPTION,
    json: { type: "boolean", help: "Print JSON instead of a table." },
    stats: { type: "boolean", help: "Add each instance's load and balancing figures, gathered from every node." },
    ...clientTlsOptions(),
    help: HELP_OPTION,
  },
  examples: [
    "amoeba ls --cluster shop",
    "amoeba ls --cluster shop --stats",
    "amoeba ls calculator --seeds udp://127.0.0.1:7946 --cluster shop",
    "amoeba ls --registry tcp://127.0.0.1:7500 --json",
    "amoeba ls --engine nats://127.0.0.1:4222 --cluster shop",
  ],
};

/** `amoeba nodes`. */
export const NODES: CommandSpec = {
  name: "nodes",
  summary: "List the members of a cluster and their state",
  usage: "nodes (--cluster <name> | --seeds <addr> | --registry <addr>) [options]",
  description: [
    "Joins the cluster for a moment (without serving anything) and lists its members as this command sees them: state (alive, suspect, dead, left), addresses, gossip address, how many services each serves and its load.",
    "A crashed node shows as suspect, then dead, once the others notice (seconds); a node that stopped gracefully shows as left. Gossip tells a newcomer only of the members still there, so to see a node die or leave, watch with --wait while it happens. A registry lists dead and departed members for a minute.",
    "Exit codes: 0 success, 2 bad command line, 3 no node of the cluster could be reached.",
  ],
  options: {
    ...FIND_OPTIONS,
    wait: WAIT_OPTION,
    all: { type: "boolean", help: "Also list the short-lived members that amoeba ls, nodes and call add while they run." },
    json: { type: "boolean", help: "Print JSON instead of a table." },
    ...clientTlsOptions(),
    help: HELP_OPTION,
  },
  examples: ["amoeba nodes --cluster shop", "amoeba nodes --seeds udp://127.0.0.1:7946 --cluster shop --json", "amoeba nodes --registry tcp://127.0.0.1:7500"],
};

/** `amoeba registry`. */
export const REGISTRY: CommandSpec = {
  name: "registry",
  summary: "Run a registry server for client-server look-up",
  usage: "registry [options]",
  description: [
    "Runs a registry server: nodes started with --registry <address> register with it and keep their record alive with heartbeats; a record not refreshed within its time to live shows as dead. amoeba ls, nodes and call ask it with --registry.",
    "Prints one line per address once ready. On SIGINT or SIGTERM it drains and exits 0; a second signal stops it at once.",
  ],
  options: {
    listen: {
      type: "string",
      multiple: true,
      value: "<address>",
      help: "Where to listen: tcp://host:port or unix:///path.sock. Repeat for several. Default: tcp://127.0.0.1:7500",
    },
    name: { type: "string", value: "<name>", help: "The registry node's name. Default: <host>-<pid>" },
    "drain-timeout": { type: "string", value: "<time>", help: "On SIGINT/SIGTERM, how long calls in flight may take to finish. Default: 10s" },
    ...serverTlsOptions("the registry"),
    policy: policyOption("the registry serves (nodes register with amoeba.registry.*)"),
    tokens: tokensOption("the registry (a node's record then belongs to its token)"),
    insecure: insecureOption("the registry"),
    "log-level": LOG_LEVEL_OPTION,
    help: HELP_OPTION,
  },
  examples: [
    "amoeba registry",
    "amoeba registry --listen tcp://127.0.0.1:0 --listen unix:///tmp/registry.sock",
    "amoeba registry --listen tcp://0.0.0.0:7500 --tls-cert registry.crt --tls-key registry.key --tls-ca ca.crt --policy registry-policy.json",
  ],
};

// The edge finds services by gossip, a registry or by hand; not (yet) through NATS.
/** `amoeba edge`. */
export const EDGE: CommandSpec = {
  name: "edge",
  summary: "Serve a cluster's public services over HTTP, JSON-RPC and WebSocket",
  usage: "edge (--cluster <name> | --seeds <addr> | --registry <addr> | --engine <nats://host:port> | --connect <address>) [options]",
  description: [
    "Runs the edge: an HTTP and WebSocket server through which browsers and HTTP clients call the services of a cluster. Only methods marked public in their contracts (contract(..., { public: true }) or unary({ ..., public: true })) are reachable; everything else answers 404.",
    [
      "Routes:",
      "  POST /rpc/<service>/<method>   JSON in, JSON out; a server stream answers Server-Sent Events (also GET ?input=<json>)",
      "  POST /jsonrpc                  JSON-RPC 2.0: service.method, batches, notifications; WebSocket at the same path, streams as notifications",
      "  GET  /services                 the catalog: public methods with kinds and JSON Schemas",
      "  GET  /openapi.json             an OpenAPI 3.1 document of the same",
      "  GET  /healthz                  200 while serving, 503 while draining",
      "  GET  /amoeba-client.js         the browser client: import { connectEdge } from \"/amoeba-client.js\"",
    ].join("\n"),
    "The edge joins the cluster's look-up like any node (or connects to --connect addresses by hand), learns methods by reflection, and balances and retries calls as every node does. X-Timeout (ms) or grpc-timeout sets a call's deadline; a client that disconnects cancels its call.",
    "Prints one line once ready. On SIGINT or SIGTERM it drains (requests in flight finish) and exits 0; a second signal stops it at once.",
  ],
  options: {
    ...FIND_OPTIONS,
    connect: { type: "string", multiple: true, value: "<address>", help: "A node to call by hand (tcp://host:port or unix:///path.sock), besides or instead of look-up. Repeat for several." },
    port: { type: "string", value: "<port>", help: "The HTTP port; 0 for a free one. Default: 8080" },
    host: { type: "string", value: "<address>", help: "The interface to listen on; 0.0.0.0 to face the network. Default: 127.0.0.1" },
    name: { type: "string", value: "<name>", help: "The edge node's name. Default: edge-<pid>" },
    auth: {
      type: "string",
      value: "<module>",
      help: "A module exporting `authenticate(token, request)`: it returns the caller's id (handlers see ctx.meta[\"amoeba-caller\"]) or null for 401. Default: no authentication.",
    },
    cors: { type: "string", multiple: true, value: "<origin>", help: "A web origin allowed to call from a browser, e.g. https://app.example.com, or *. Repeat or separate with commas." },
    "rate-limit": { type: "string", value: "<per-second>", help: "Calls per second per client (caller id, else IP address), or off. Default: 100" },
    burst: { type: "string", value: "<n>", help: "Calls a client may make at once after being idle. Default: twice the rate" },
    "max-body": { type: "string", value: "<bytes>", help: "The largest request body; past it 413. Default: 1048576" },
    timeout: { type: "string", value: "<time>", help: "The deadline of a call whose request sets none (X-Timeout), e.g. 5s; at most 5m. Default: 30s" },
    "trust-proxy": { type: "boolean", help: "Take the client's address from X-Forwarded-For (behind a proxy you run)." },
    dev: { type: "boolean", help: "Show end users full error messages, which name nodes and addresses. Never in production." },
    metrics: { type: "boolean", help: "Serve the edge node's Prometheus metrics at GET /metrics (they name services and peers)." },
    "recent-calls": {
      type: "string",
      value: "<n>",
      help: "Keep the last <n> calls the edge's node makes, with their trace ids and timings, as children of the HTTP caller's traceparent, for the recent calls of --dashboard. Default: none",
    },
    dashboard: { type: "string", value: "<port>", help: "Also serve the live dashboard (as amoeba dashboard) of the edge's cluster on 127.0.0.1:<port>; 0 for a free one." },
    "drain-timeout": { type: "string", value: "<time>", help: "On SIGINT/SIGTERM, how long requests in flight may take to finish. Default: 10s" },
    "tls-cert": { type: "string", value: "<file>", help: "Serve HTTPS and WSS with this PEM certificate (chain); needs --tls-key." },
    "tls-key": { type: "string", value: "<file>", help: "The PEM private key of --tls-cert." },
    ...clientTlsOptions("cluster-tls", "the cluster's nodes"),
    policy: policyOption("of an end user (edge:<user>, or edge:anonymous without --auth) before it leaves the edge, and every call the edge's node serves,"),
    insecure: insecureOption("the edge (with neither --tls-cert nor --auth)"),
    "log-level": LOG_LEVEL_OPTION,
    help: HELP_OPTION,
  },
  examples: [
    "amoeba edge --cluster shop --port 8080",
    "amoeba edge --seeds udp://10.0.0.5:7946 --cluster shop --port 8080 --host 0.0.0.0 --auth ./auth.ts --cors https://app.example.com",
    "amoeba edge --registry tcp://127.0.0.1:7500 --auth ./auth.ts",
    "amoeba edge --connect tcp://127.0.0.1:7400 --port 0",
    "amoeba edge --cluster shop --port 8443 --host 0.0.0.0 --tls-cert edge.crt --tls-key edge.key",
    "amoeba edge --seeds udp://10.0.0.5:7946 --cluster shop --auth ./auth.ts --policy edge-policy.json --cluster-tls-ca ca.crt --cluster-tls-cert edge-node.crt --cluster-tls-key edge-node.key",
  ],
};

/** `amoeba dashboard`. */
export const DASHBOARD: CommandSpec = {
  name: "dashboard",
  summary: "Serve a live page of the clusters, their traffic and services",
  usage: "dashboard (--seeds <addr> | --cluster <name> | --registry <addr> | --engine <nats://host:port>) [options]",
  description: [
    "Joins each cluster for as long as it runs (serving nothing) and serves a page that shows, updated every second: the clusters as groups with their nodes, gateways between them, calls per second, p99 and error rate on each caller-to-callee link, dead nodes marked; the services with their versions, methods, schemas and instances' balancing figures, with a form to call any method; and recent calls once nodes keep them.",
    "Seeds written name=udp://host:port belong to the cluster name: repeat --seeds to show several clusters. Plain seeds belong to --cluster (default: default).",
    "Prints the page's address once ready. Listens on 127.0.0.1 by default: the page calls any method, so keep it off the network. Stops on SIGINT or SIGTERM.",
  ],
  options: {
    ...FIND_OPTIONS,
    seeds: {
      type: "string",
      multiple: true,
      value: "<[cluster=]udp://host:port>",
      help: "The gossip address of a node to watch a cluster through, optionally prefixed by the cluster's name. Repeat or separate with commas for several.",
    },
    port: { type: "string", value: "<port>", help: "The HTTP port; 0 for a free one. Default: 8090" },
    host: { type: "string", value: "<address>", help: "The interface to listen on. Default: 127.0.0.1" },
    interval: { type: "string", value: "<time>", help: "How often the page is updated, e.g. 500ms or 2s. Default: 1s" },
    ...clientTlsOptions(),
    help: HELP_OPTION,
  },
  examples: [
    "amoeba dashboard --seeds udp://127.0.0.1:7946 --cluster shop",
    "amoeba dashboard --seeds core=udp://127.0.0.1:7000 --seeds region=udp://127.0.0.1:7100 --port 8090",
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

/** `amoeba gateway`. */
export const GATEWAY: CommandSpec = {
  name: "gateway",
  summary: "Join several clusters and forward calls between them",
  usage: "gateway --join <cluster>=<udp://host:port> --join <cluster>=<udp://host:port> [options]",
  description: [
    "Runs a gateway: one member in each cluster named by --join, which advertises into each cluster the services it can reach in the others, with a cost, and forwards their calls (any method kind; the deadline, cancellation and metadata travel). Callers prefer instances of their own cluster, then the cheapest route. A call crosses at most --max-hops gateways, and never the same one twice.",
    "Its members carry the label amoeba.gateway (the clusters it joins). Prints one line per cluster once ready (its gossip address is a seed for that cluster), then a line whenever the routes it advertises change. On SIGINT or SIGTERM it drains and exits 0.",
  ],
  options: {
    join: {
      type: "string",
      multiple: true,
      value: "<cluster>=<seeds>",
      help: "A cluster to join and the gossip address of one of its members (several separated by commas); <cluster> alone finds its members on this machine. Twice or more.",
    },
    cost: { type: "string", value: "<n>", help: "What crossing this gateway costs, added to each route it advertises (0 to 1000). Default: 1" },
    "max-hops": { type: "string", value: "<n>", help: "How many gateways a call may cross (1 to 64). Default: 8" },
    routes: { type: "string", value: "<file>", help: "Route rules for the calls it forwards, one per line, e.g. \"calculator pin region-b\" (see docs/routing.md)." },
    aggregate: {
      type: "string",
      multiple: true,
      value: "<aggregate>",
      help: "Advertise one route for many services: 'shop.*' (names starting with shop.), a cluster it joins (every service served there), or 'shop.* in region-b'. Repeatable.",
    },
    name: { type: "string", value: "<name>", help: "The gateway's name in every cluster. Default: gateway-<pid>" },
    host: { type: "string", value: "<address>", help: "The interface its members listen and gossip on. Default: 127.0.0.1" },
    "cluster-key": { type: "string", value: "<key>", help: `The clusters' key, when their gossip is authenticated. Default: $${CLUSTER_KEY_ENV}` },
    "drain-timeout": { type: "string", value: "<time>", help: "On SIGINT/SIGTERM, how long calls in flight may take to finish. Default: 10s" },
    "recent-calls": recentCallsOption("each of its members'"),
    ...serverTlsOptions("each of its members", "the nodes it forwards calls to"),
    policy: policyOption("its members serve, forwarded ones included,"),
    tokens: tokensOption("each of its members"),
    insecure: insecureOption("its members (on a --host other than loopback, with neither --cluster-key nor --tls-cert)"),
    ...SEED_WAIT_OPTIONS,
    "log-level": LOG_LEVEL_OPTION,
    help: HELP_OPTION,
  },
  examples: [
    "amoeba gateway --join core=udp://10.0.0.5:7946 --join region-b=udp://10.1.0.5:7946",
    "amoeba gateway --join lan-a=udp://192.168.1.2:7946 --join core=udp://10.0.0.5:7946 --cost 2 --name gw-lan-a",
    "amoeba gateway --join core=udp://10.0.0.5:7946 --join region-b=udp://10.1.0.5:7946 --aggregate 'shop.*' --aggregate region-b",
    "amoeba gateway --join core=udp://10.0.0.5:7946 --join region-b=udp://10.1.0.5:7946 --host 10.0.0.9 --tls-cert gw.crt --tls-key gw.key --tls-ca ca.crt --policy gw-policy.json",
  ],
};

/** `amoeba route`. */
export const ROUTE: CommandSpec = {
  name: "route",
  summary: "Explain where a call would go now, and why",
  usage: "route explain <service.method> (--cluster <name> | --seeds <addr>) [options]",
  description: [
    "Joins the cluster (serving nothing), gathers its view, and prints the instances a call of <service.method> would choose among as a node there would: each with its locality (host, cluster, or gateway for a route to another cluster), its cost and path, and the one tier a call goes to now — the nearest, then the cheapest route.",
    "With --rule, the route rules a call would carry (weights, a failover order, a pinned cluster) apply, and each weighted version range shows as a group of its own.",
    "Exit codes: 0 an instance would be chosen, 1 none is known, 2 bad command line or rule, 3 no member of the cluster could be reached.",
  ],
  options: {
    ...FIND_OPTIONS,
    version: { type: "string", value: "<range>", help: "The versions of the service to accept, e.g. ^1.2. Default: any" },
    wait: { ...WAIT_OPTION, help: "The longest time to wait for an instance of the service. Default: 1.5s" },
    rule: { type: "string", value: "<rules>", help: 'Route rules as a call would carry them in its metadata (amoeba-route), e.g. "calculator pin region-b".' },
    json: { type: "boolean", help: "Print the explanation as one line of JSON." },
    help: HELP_OPTION,
  },
  examples: [
    "amoeba route explain calculator.add --seeds udp://127.0.0.1:7946 --cluster lan-a",
    'amoeba route explain calculator.add --cluster lan-a --rule "calculator pin region-b" --json',
  ],
};

/** Every command, in the order help lists them. */
export const COMMANDS: readonly CommandSpec[] = [SERVE, CALL, DESCRIBE, PUBLISH, SUBSCRIBE, LS, NODES, TOP, BENCH, REGISTRY, EDGE, DASHBOARD, GATEWAY, ROUTE, TOKEN, COMPLETION, HELP];

/** The top level: `amoeba --help`. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 4;
  return [
    "Usage: amoeba <command> [options]",
    "",
    "Amoeba's command-line tool: serve services from a module, call them, and see what a cluster runs.",
    "",
    "Commands:",
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    "",
    "Options:",
    "  -h, --help        Show this help.",
    "  -v, --version     Print Amoeba's version.",
    "      --no-color    No colour, with any command (also NO_COLOR=1). Times: 500ms, 1s, 2m; a bare number is ms.",
    "",
    "Examples:",
    "  amoeba serve examples/calculator/service.ts",
    `  amoeba call tcp://127.0.0.1:7400 calculator.add '{"a":1,"b":2}'`,
    "  amoeba serve examples/calculator/service.ts --listen tcp://127.0.0.1:0 --cluster shop",
    "  amoeba ls --cluster shop",
    `  amoeba call --cluster shop calculator.add '{"a":1,"b":2}'`,
    "  amoeba describe --cluster shop calculator",
    "  source <(amoeba completion bash)",
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
