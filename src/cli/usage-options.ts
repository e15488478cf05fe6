/**
 * The pieces of the commands' specs that several commands share: the spec
 * types, and the options every command that finds a cluster takes.
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

export const HELP_OPTION: OptionSpec = { type: "boolean", short: "h", help: "Show this help." };

/** The environment variable read for the cluster key when --cluster-key is absent. */
export const CLUSTER_KEY_ENV = "AMOEBA_CLUSTER_KEY";

/** How a command that only looks (ls, nodes, call) finds a cluster: the same options everywhere. */
export const FIND_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  cluster: {
    type: "string",
    value: "<name>",
    help: "The cluster to look in. Alone, its nodes on this machine are found with no seeds (local rendezvous). Default: default",
  },
  seeds: {
    type: "string",
    multiple: true,
    value: "<udp://host:port>",
    help: "The gossip address of a node of the cluster (amoeba serve prints it); name the cluster too unless it is default. Repeat or separate with commas for several.",
  },
  registry: { type: "string", value: "<address>", help: "A registry server (amoeba registry) to ask instead of gossiping: tcp://host:port or unix:///path.sock; several separated by commas." },
  "cluster-key": {
    type: "string",
    value: "<key>",
    help: `The cluster's key, when its gossip is authenticated. Default: $${CLUSTER_KEY_ENV}, which keeps the key out of the process list.`,
  },
  gossip: { type: "string", value: "<udp://host:port>", help: "Where this command's own gossip socket listens. Default: udp://127.0.0.1:0" },
  engine: {
    type: "string",
    value: "<nats://host:port>",
    help: "Look on NATS instead: the nodes that serve through this NATS server (amoeba serve --engine). Credentials as for serve --engine.",
  },
};

/** `--recent-calls` of a command whose nodes tools can ask (serve, gateway); `whose` names the nodes that keep the calls. */
export function recentCallsOption(whose: string): OptionSpec {
  return {
    type: "string",
    value: "<n>",
    help: `Keep ${whose} last <n> calls, made and served, with their trace ids and timings, for the dashboard's recent calls (the amoeba.traces service). Default: none`,
  };
}

export const WAIT_OPTION: OptionSpec = {
  type: "string",
  value: "<time>",
  help: "Gather the cluster's view for this long before answering, e.g. to see a suspect member declared dead. Default: until the view stops changing, at most 1.5s",
};


/** `--insecure`, on every command that listens: protected mode off (see docs/security.md). */
export function insecureOption(what: string): OptionSpec {
  return {
    type: "boolean",
    help: `Let ${what} listen for other hosts with no credentials (no TLS, no cluster key): anyone who reaches it may call it. Logged as a warning. Default: off, and with no credentials only loopback and Unix sockets are allowed`,
  };
}

/** What to do when --seeds never answer: the same on serve and gateway. */
export const SEED_WAIT_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  "seed-timeout": {
    type: "string",
    value: "<time>",
    help: "How long the given seeds have to answer; if none does, a warning names them and the command exits 3 (unreachable). Default: 10s",
  },
  "wait-for-seeds": { type: "boolean", help: "When no seed answers within --seed-timeout, warn and keep trying instead of exiting (the first node of a cluster started with the others' addresses)." },
};

/**
 * `--tls-cert`, `--tls-key` and `--tls-ca` of a command that listens (serve,
 * registry, gateway). `what` names what listens; `dials`, when it dials nodes
 * itself, says which (e.g. "the registry and the nodes it calls").
 */
export function serverTlsOptions(what: string, dials?: string): Readonly<Record<string, OptionSpec>> {
  const presented = dials === undefined ? "" : ` ${capitalized(what)} presents it to ${dials} too, over TLS.`;
  return {
    "tls-cert": {
      type: "string",
      value: "<file>",
      help: `Listen with TLS, with this PEM certificate (chain); needs --tls-key. A credential: ${what} may then listen for other hosts.${presented}`,
    },
    "tls-key": { type: "string", value: "<file>", help: "The PEM private key of --tls-cert (not encrypted)." },
    "tls-ca": {
      type: "string",
      value: "<file>",
      help: `Mutual TLS: callers must present a certificate signed by this PEM CA (their identity for --policy)${dials === undefined ? "" : `, and ${dials} are verified against it`}. Needs --tls-cert. Default: callers need no certificate${dials === undefined ? "" : `, and ${dials} are verified against the system's CAs`}`,
    },
  };
}

/** `--tokens`: the bearer tokens `what` takes from the nodes and tools that dial it. */
export function tokensOption(what: string): OptionSpec {
  return {
    type: "string",
    value: "<file>",
    help: `Take bearer tokens: ${what} knows a caller that presents one of this JSON file's tokens as token:<name> (for --policy), and refuses an unknown token at the handshake. {"tokens": [{"name": "orders", "sha256": "<hex>"}, ...]}; amoeba token makes a token and its entry. Callers present theirs from $AMOEBA_TOKEN or $AMOEBA_TOKEN_FILE, over TLS or on this machine only. Default: none`,
  };
}

/** `--policy`: who may call what, on `whom`. */
export function policyOption(whom: string): OptionSpec {
  return {
    type: "string",
    value: "<file>",
    help: `Authorize every call ${whom} with this JSON policy: {"rules": [{"callers": ["cert:orders"], "methods": ["payments.*"]}, ...]}; the first rule that matches decides ("deny": true refuses), and what none allows is refused (docs/security.md). Default: no policy`,
  };
}

/**
 * `--tls-ca`, `--tls-cert` and `--tls-key` of a command that dials nodes
 * (call, ls, describe, …); `prefix` renames them where `--tls-*` means
 * something else (the edge's HTTPS).
 */
export function clientTlsOptions(prefix = "tls", whom = "the nodes it reaches over TCP"): Readonly<Record<string, OptionSpec>> {
  return {
    [`${prefix}-ca`]: {
      type: "string",
      value: "<file>",
      help: `Speak TLS to ${whom} and verify their certificates against this PEM CA. Default: no TLS (with --${prefix}-cert alone: the system's CAs)`,
    },
    [`${prefix}-cert`]: {
      type: "string",
      value: "<file>",
      help: `Mutual TLS: present this PEM certificate (chain) to ${whom}, who know the caller by it; needs --${prefix}-key.`,
    },
    [`${prefix}-key`]: { type: "string", value: "<file>", help: `The PEM private key of --${prefix}-cert (not encrypted). A bearer token for nodes that take them comes from $AMOEBA_TOKEN or $AMOEBA_TOKEN_FILE.` },
  };
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
