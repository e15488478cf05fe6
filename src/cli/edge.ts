import { constants } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { existsSync } from "node:fs";
import type { Authenticate, Edge, EdgeOptions } from "../edge/index.ts";
import type { Engine } from "../engine.ts";
import type { AuthorizationPolicy, TlsClientOptions } from "../index.ts";
import { checkSocketAddress, flagOption, listOption, parseCount, parseMs, parseOrHelp, parseRecentCalls, stringOption, type ParsedArgs } from "./args.ts";
import { parseDuration } from "./duration.ts";
import { loadEngine } from "./engine.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { commandLogger } from "./log-level.ts";
import { clusterKeyFromEnv, describeWhere, planLookup, type LookupPlan } from "./lookup-args.ts";
import { EDGE } from "./usage.ts";
import { startEdgeDashboard } from "./dashboard.ts";
import { readPolicy } from "./policy-file.ts";
import { planClientTls, planKeyPair } from "./tls-args.ts";
import { tokenOption } from "./token-args.ts";

/** The longest deadline the edge lets a request have (its `maxTimeout`, which the CLI keeps at the default). */
const MAX_TIMEOUT_MS = 300_000;

/** What `amoeba edge` was asked to do. */
export interface EdgePlan {
  readonly port: number;
  readonly host: string;
  readonly name: string | undefined;
  readonly lookup: LookupPlan | undefined;
  readonly connect: readonly string[];
  readonly cors: readonly string[];
  /** Calls per second per client; undefined for the default, 0 for no limit. */
  readonly rate: number | undefined;
  readonly burst: number | undefined;
  readonly maxBody: number | undefined;
  readonly timeout: number | undefined;
  readonly drainTimeout: number | undefined;
  readonly trustProxy: boolean;
  readonly dev: boolean;
  /** Serve Prometheus metrics at /metrics. */
  readonly metrics: boolean;
  /** Calls the edge's node keeps for `amoeba.traces` and the dashboard (`--recent-calls`). */
  readonly recentCalls: number | undefined;
  /** A module whose `authenticate` export (or default export) is the auth hook. */
  readonly auth: string | undefined;
  /** The certificate and key to serve HTTPS with (`--tls-cert`, `--tls-key`). */
  readonly tls: { cert: Buffer; key: Buffer } | undefined;
  /** TLS towards the cluster's nodes (`--cluster-tls-ca`, `--cluster-tls-cert`, `--cluster-tls-key`). */
  readonly clusterTls: TlsClientOptions | undefined;
  /** Who may call what through the edge (`--policy`). */
  readonly authorization: AuthorizationPolicy | undefined;
  /** Listen for other hosts with neither TLS nor --auth (`--insecure`). */
  readonly insecure: boolean;
}

/** Where `amoeba edge` listens when no --port is given. */
export const DEFAULT_EDGE_PORT = 8080;

/** `amoeba edge`: serves HTTP and WebSocket in front of a cluster until SIGINT or SIGTERM. Returns the exit code. */
export async function runEdge(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(EDGE, argv, io);
  if (!args) return EXIT.ok;
  const plan = planEdge(args);
  const logger = commandLogger(args, "edge");
  const authenticate = plan.auth === undefined ? undefined : await loadAuthenticate(plan.auth);
  const { startEdge } = await import("../edge/index.ts");
  let engine: Engine | undefined;
  if (plan.lookup?.engine !== undefined) {
    try {
      engine = await loadEngine(plan.lookup.engine);
    } catch (error) {
      throw new CliError(`cannot use --engine ${plan.lookup.engine}: ${(error as Error).message}`);
    }
  }
  let edge: Edge;
  try {
    edge = await startEdge({ ...edgeOptions(plan, authenticate), logger, ...(engine !== undefined ? { engine } : {}), ...(plan.tls !== undefined ? { tls: plan.tls } : {}) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      throw new CliError(`cannot listen on ${plan.host}:${plan.port}: ${(error as Error).message}`);
    }
    if ((error as Error)?.name === "ExposureError") throw new UsageError(`${(error as Error).message}; or --insecure`, "edge");
    throw new CliError(`cannot start the edge: ${(error as Error)?.message ?? String(error)}`, EXIT.unreachable);
  }
  // Listen for signals before saying it is up: whoever reads that line may signal at once.
  const signalled = closeOnSignal(edge, io);
  const where = plan.lookup !== undefined ? describeWhere(plan.lookup) : `${plan.connect.join(", ")}`;
  io.out(`amoeba: edge ${edge.node.name} serving ${plan.tls ? "HTTPS and WSS" : "HTTP and WebSocket"} on ${edge.url} for ${where}`);
  const services = edge.services.map((s) => `${s.name}@${s.version} (${s.methods.length})`).join(", ");
  io.out(`amoeba: edge public services now: ${services === "" ? "none yet" : services}`);
  const dashboard = await startEdgeDashboard(args, edge.node, io);
  return signalled.finally(() => dashboard?.close());
}

/** Checks the command line; every mistake is a UsageError (exit 2). */
export function planEdge(args: ParsedArgs): EdgePlan {
  if (args.positionals.length > 0) throw new UsageError(`takes no arguments, got ${args.positionals.join(" ")}`, "edge");
  const lookup = planLookup(args, "edge");
  const connect = listOption(args, "connect").map((address) => checkSocketAddress(address, "edge"));
  if (lookup === undefined && connect.length === 0) {
    throw new UsageError("needs services to call: --cluster <name>, --seeds <udp://host:port>, --registry <address> or --connect <address>", "edge");
  }
  const port = stringOption(args, "port");
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) > 65535)) throw new UsageError(`--port takes 0 to 65535, not "${port}"`, "edge");
  const rate = stringOption(args, "rate-limit");
  if (rate !== undefined && !(rate === "off" || /^\d+(\.\d+)?$/.test(rate))) throw new UsageError(`--rate-limit takes calls per second or "off", not "${rate}"`, "edge");
  const burst = stringOption(args, "burst");
  const maxBody = stringOption(args, "max-body");
  const timeout = stringOption(args, "timeout");
  const drain = stringOption(args, "drain-timeout");
  const recentCalls = stringOption(args, "recent-calls");
  const policy = stringOption(args, "policy");
  const cors = listOption(args, "cors").flatMap((text) => text.split(",")).map((origin) => origin.trim()).filter((origin) => origin !== "");
  for (const origin of cors) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) throw new UsageError(`--cors takes origins such as https://app.example.com (no path), or *, not "${origin}"`, "edge");
  }
  return {
    port: port === undefined ? DEFAULT_EDGE_PORT : Number(port),
    host: stringOption(args, "host") ?? "127.0.0.1",
    name: stringOption(args, "name"),
    lookup,
    connect,
    cors,
    rate: rate === undefined ? undefined : rate === "off" ? 0 : Number(rate),
    burst: burst === undefined ? undefined : parseCount(burst, "burst", "edge"),
    maxBody: maxBody === undefined ? undefined : parseCount(maxBody, "max-body", "edge"),
    timeout: timeout === undefined ? undefined : parseDuration(timeout, "timeout", "edge", 1, MAX_TIMEOUT_MS),
    drainTimeout: drain === undefined ? undefined : parseMs(drain, "drain-timeout", "edge"),
    trustProxy: flagOption(args, "trust-proxy"),
    dev: flagOption(args, "dev"),
    metrics: flagOption(args, "metrics"),
    recentCalls: recentCalls === undefined ? undefined : parseRecentCalls(recentCalls, "edge"),
    auth: stringOption(args, "auth"),
    tls: planKeyPair(args, "tls", "edge"),
    clusterTls: planClientTls(args, "edge", "cluster-tls"),
    authorization: policy === undefined ? undefined : readPolicy(policy, "edge"),
    insecure: flagOption(args, "insecure"),
  };
}

function edgeOptions(plan: EdgePlan, authenticate: Authenticate | undefined): EdgeOptions {
  const lookup = plan.lookup;
  // With --connect alone, the key in the environment still proves the edge's connections.
  const clusterKey = lookup?.clusterKey ?? clusterKeyFromEnv();
  return {
    port: plan.port,
    host: plan.host,
    ...(plan.name !== undefined ? { name: plan.name } : {}),
    ...(lookup?.cluster !== undefined ? { cluster: lookup.cluster } : {}),
    ...(lookup?.seeds !== undefined ? { seeds: [...lookup.seeds] } : {}),
    ...(lookup?.registry !== undefined ? { registry: lookup.registry } : {}),
    ...(clusterKey !== undefined ? { clusterKey } : {}),
    ...tokenOption("edge"),
    ...(plan.clusterTls !== undefined ? { clientTls: plan.clusterTls } : {}),
    ...(plan.authorization !== undefined ? { authorization: plan.authorization } : {}),
    ...(lookup?.gossip !== undefined ? { lookup: { gossip: lookup.gossip } } : lookup !== undefined ? { lookup: true } : {}),
    connect: [...plan.connect],
    ...(plan.cors.length > 0 ? { cors: { origins: plan.cors.includes("*") ? "*" : plan.cors } } : {}),
    ...(plan.rate === 0 ? { rateLimit: false as const } : plan.rate !== undefined || plan.burst !== undefined ? { rateLimit: { perSecond: plan.rate ?? 100, ...(plan.burst !== undefined ? { burst: plan.burst } : {}) } } : {}),
    ...(plan.maxBody !== undefined ? { limits: { maxBodySize: plan.maxBody } } : {}),
    ...(plan.timeout !== undefined ? { defaultTimeout: plan.timeout } : {}),
    ...(plan.drainTimeout !== undefined ? { drainTimeout: Math.max(1, plan.drainTimeout) } : {}),
    trustProxy: plan.trustProxy,
    ...(plan.insecure ? { insecure: true } : {}),
    exposeErrors: plan.dev,
    metrics: plan.metrics,
    ...(plan.recentCalls !== undefined ? { traces: { recent: plan.recentCalls } } : {}),
    ...(authenticate ? { authenticate } : {}),
  };
}

/** Imports the auth module: its `authenticate` export, else its default export, must be a function. */
async function loadAuthenticate(file: string): Promise<Authenticate> {
  const path = resolve(process.cwd(), file);
  if (!existsSync(path)) throw new CliError(`no such file: ${path}`);
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(`cannot load ${file}: ${(error as Error)?.message ?? String(error)}`);
  }
  const hook = typeof namespace.authenticate === "function" ? namespace.authenticate : namespace.default;
  if (typeof hook !== "function") {
    throw new CliError(`${file} must export a function: export async function authenticate(token, request) { return callerId or null }`);
  }
  return hook as Authenticate;
}

/** Waits for SIGINT or SIGTERM, then closes the edge gracefully; a second signal stops at once. */
function closeOnSignal(edge: Edge, io: Io): Promise<number> {
  return new Promise<number>((resolveExit) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (closing) {
        io.out(`amoeba: edge ${edge.node.name} stopping at once on a second ${signal}`);
        resolveExit(128 + (constants.signals[signal] ?? 0));
        return;
      }
      closing = true;
      io.out(`amoeba: edge ${edge.node.name} draining on ${signal}: requests in flight may finish (signal again to stop at once)`);
      edge.close().then(
        () => {
          io.out(`amoeba: edge ${edge.node.name} stopped`);
          resolveExit(EXIT.ok);
        },
        (error: unknown) => {
          io.err(`amoeba edge: closing failed: ${(error as Error)?.message ?? String(error)}`);
          resolveExit(EXIT.failure);
        },
      );
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
