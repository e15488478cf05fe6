import { constants } from "node:os";
import { serveMetrics } from "../metrics/http.ts";
import { AddressError, ExposureError, startNode, type AuthorizationPolicy, type Handlers, type Node, type TokenVerifier } from "../index.ts";
import { checkSocketAddress, flagOption, listOption, parseCount, parseMs, parseOrHelp, parsePort, parseRecentCalls, stringOption, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { loadServices, type ServiceEntry } from "./load-module.ts";
import { commandLogger } from "./log-level.ts";
import type { Logger } from "../logger.ts";
import { describeWhere, planLookup, type LookupPlan } from "./lookup-args.ts";
import { SERVE } from "./usage.ts";
import { loadEngine } from "./engine.ts";
import { awaitSeeds, planSeedWait, unlessSeedsFail, type SeedWait } from "./seed-wait.ts";
import { readPolicy } from "./policy-file.ts";
import { readTokens, tokenFromEnv } from "./token-args.ts";
import { planServerTls, type ServerTls } from "./tls-args.ts";

/** What `amoeba serve` was asked to do. */
export interface ServePlan {
  readonly module: string;
  readonly listen: readonly string[];
  readonly name: string | undefined;
  readonly dev: boolean;
  readonly drainTimeout: number | undefined;
  /** Calls the node runs at once; past it, RESOURCE_EXHAUSTED (load shedding). */
  readonly concurrency: number | undefined;
  /** Serve Prometheus metrics at http://127.0.0.1:<port>/metrics (`--metrics-port`). */
  readonly metricsPort: number | undefined;
  /** Calls to keep for `amoeba.traces` and the dashboard (`--recent-calls`). */
  readonly recentCalls: number | undefined;
  /** The cluster to join; undefined to join none. */
  readonly lookup: LookupPlan | undefined;
  /** TLS of its listeners and of what it dials (`--tls-cert`, `--tls-key`, `--tls-ca`). */
  readonly tls: ServerTls | undefined;
  /** Who may call what (`--policy`). */
  readonly authorization: AuthorizationPolicy | undefined;
  /** The bearer tokens it takes (`--tokens`), and the one it presents when it dials ($AMOEBA_TOKEN). */
  readonly tokens: TokenVerifier | undefined;
  readonly token: string | undefined;
  /** Listen for other hosts with no credentials (`--insecure`). */
  readonly insecure: boolean;
  /** What to do when --seeds never answer. */
  readonly seedWait: SeedWait;
}

/** Where `amoeba serve` listens when no --listen is given. */
export const DEFAULT_LISTEN = "tcp://127.0.0.1:7400";

/**
 * `amoeba serve`: loads the module, starts a node serving its services, and
 * runs until SIGINT or SIGTERM, then drains. Returns the exit code.
 */
export async function runServe(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(SERVE, argv, io);
  if (!args) return EXIT.ok;
  const plan = planServe(args);
  const logger = commandLogger(args, "serve");
  const entries = await loadServices(plan.module);
  const started = Date.now();
  const node = await startServing(plan, entries, logger);
  // Listen for signals before saying it is up: whoever reads that line may signal at once.
  const signalled = drainOnSignal(node, io);
  const served = entries.map(({ contract }) => `${contract.name}@${contract.version}`).join(", ");
  for (const address of node.addresses) io.out(`amoeba: node ${node.name} serving ${served} on ${address}`);
  if (plan.lookup !== undefined) io.out(joinedLine(node, plan.lookup));
  const seeds = plan.lookup?.seeds === undefined ? null : awaitSeeds(node, plan.lookup.seeds, plan.seedWait, io, "serve", started);
  const stop = (): Promise<void> => node.close({ timeout: 0 });
  if (plan.metricsPort === undefined) return unlessSeedsFail(signalled, seeds, stop);
  let endpoint;
  try {
    endpoint = await serveMetrics(() => node.metricsText() ?? "", { port: plan.metricsPort });
  } catch (error) {
    await node.close({ timeout: 0 });
    throw new CliError(`cannot serve metrics on 127.0.0.1:${plan.metricsPort}: ${(error as Error).message}`);
  }
  io.out(`amoeba: node ${node.name} metrics at ${endpoint.url}`);
  const code = await unlessSeedsFail(signalled, seeds, async () => {
    await endpoint.close();
    await stop();
  });
  await endpoint.close();
  return code;
}

/** Checks the command line; every mistake is a UsageError (exit 2). */
export function planServe(args: ParsedArgs): ServePlan {
  const [module, ...extra] = args.positionals;
  if (module === undefined) throw new UsageError("expects the module to serve, as in: amoeba serve ./services.ts", "serve");
  if (extra.length > 0) throw new UsageError(`expects one module, got ${args.positionals.length}: ${args.positionals.join(" ")}`, "serve");
  const listen = listOption(args, "listen").map((address) => checkSocketAddress(address, "serve"));
  const drainTimeout = stringOption(args, "drain-timeout");
  const concurrency = stringOption(args, "concurrency");
  const metricsPort = stringOption(args, "metrics-port");
  const recentCalls = stringOption(args, "recent-calls");
  const policy = stringOption(args, "policy");
  const tokens = stringOption(args, "tokens");
  const lookup = planLookup(args, "serve");
  return {
    module,
    // On NATS the node is reached at nats://<node id>: no TCP listener unless asked for.
    listen: listen.length > 0 ? listen : lookup?.engine !== undefined ? [] : [DEFAULT_LISTEN],
    name: stringOption(args, "name"),
    dev: flagOption(args, "dev"),
    drainTimeout: drainTimeout === undefined ? undefined : parseMs(drainTimeout, "drain-timeout", "serve"),
    concurrency: concurrency === undefined ? undefined : parseCount(concurrency, "concurrency", "serve"),
    metricsPort: metricsPort === undefined ? undefined : parsePort(metricsPort, "metrics-port", "serve"),
    recentCalls: recentCalls === undefined ? undefined : parseRecentCalls(recentCalls, "serve"),
    lookup,
    tls: planServerTls(args, "serve"),
    authorization: policy === undefined ? undefined : readPolicy(policy, "serve"),
    tokens: tokens === undefined ? undefined : readTokens(tokens, "serve"),
    token: tokenFromEnv("serve"),
    insecure: flagOption(args, "insecure"),
    seedWait: planSeedWait(args, "serve"),
  };
}

/** The ready line of the look-up: the gossip address is a seed for others. */
function joinedLine(node: Node, lookup: LookupPlan): string {
  const cluster = `cluster "${node.cluster}"`;
  if (lookup.engine !== undefined) return `amoeba: node ${node.name} in ${cluster} on NATS at ${lookup.engine}`;
  if (lookup.registry !== undefined) return `amoeba: node ${node.name} in ${cluster}, registered with the registry at ${lookup.registry}`;
  return `amoeba: node ${node.name} in ${cluster}, gossip on ${node.gossipAddress ?? "?"} (a seed for other nodes)`;
}

// Services are registered before listening, so the first connection's
// handshake already lists them all.
async function startServing(plan: ServePlan, entries: ServiceEntry[], logger: Logger): Promise<Node> {
  let engine;
  if (plan.lookup?.engine !== undefined) {
    try {
      engine = await loadEngine(plan.lookup.engine);
    } catch (error) {
      throw new CliError(`cannot use --engine ${plan.lookup.engine}: ${(error as Error).message}`);
    }
  }
  const starting = startNode({
    logger,
    ...(engine !== undefined ? { engine } : {}),
    dev: plan.dev,
    ...(plan.name !== undefined ? { name: plan.name } : {}),
    ...(plan.drainTimeout !== undefined ? { drainTimeout: plan.drainTimeout } : {}),
    ...(plan.concurrency !== undefined ? { concurrency: plan.concurrency } : {}),
    ...(plan.metricsPort !== undefined ? { metrics: true } : {}),
    ...(plan.recentCalls !== undefined ? { traces: { recent: plan.recentCalls } } : {}),
    ...(plan.lookup?.cluster !== undefined ? { cluster: plan.lookup.cluster } : {}),
    // The key counts as the node's credential when it listens beyond loopback (protected mode).
    ...(plan.lookup?.clusterKey !== undefined ? { clusterKey: plan.lookup.clusterKey } : {}),
    // TLS is a credential too; the node dials with the same certificate.
    ...(plan.tls !== undefined ? { tls: plan.tls.server, clientTls: plan.tls.client } : {}),
    ...(plan.authorization !== undefined ? { authorization: plan.authorization } : {}),
    ...(plan.tokens !== undefined ? { tokens: plan.tokens } : {}),
    ...(plan.token !== undefined ? { token: plan.token } : {}),
    ...(plan.insecure ? { insecure: true } : {}),
    // Joined below, once listening: the node's record then carries its addresses.
    lookup: false,
  });
  let node: Node;
  try {
    node = await starting;
  } catch (error) {
    // Typically the NATS server: unreachable, or refusing the credentials.
    throw new CliError(`cannot start the node: ${(error as Error)?.message ?? String(error)}`);
  }
  try {
    for (const { contract, handlers } of entries) {
      try {
        node.serve(contract, handlers as Handlers<typeof contract>);
      } catch (error) {
        throw new CliError(`cannot serve ${contract.name}@${contract.version} from ${plan.module}: ${(error as Error).message}`);
      }
    }
    // One address at a time, so a failure names the address at fault.
    for (const address of plan.listen) {
      try {
        await node.listen(address);
      } catch (error) {
        if (error instanceof AddressError) throw new UsageError((error as Error).message, "serve");
        if (error instanceof ExposureError) throw new UsageError(`${error.message}; or --insecure`, "serve");
        throw new CliError(`cannot listen on ${address}: ${(error as Error).message}`);
      }
    }
    if (plan.lookup !== undefined) await join(node, plan.lookup);
  } catch (error) {
    await node.close({ timeout: 0 });
    throw error;
  }
  return node;
}

async function join(node: Node, lookup: LookupPlan): Promise<void> {
  try {
    await node.joinLookup({
      ...(lookup.seeds !== undefined ? { seeds: [...lookup.seeds] } : {}),
      ...(lookup.registry !== undefined ? { registry: lookup.registry } : {}),
      ...(lookup.clusterKey !== undefined ? { clusterKey: lookup.clusterKey } : {}),
      ...(lookup.gossip !== undefined ? { gossip: lookup.gossip } : {}),
    });
  } catch (error) {
    throw new CliError(`cannot join ${describeWhere(lookup)}: ${(error as Error)?.message ?? String(error)}`);
  }
}

/**
 * Waits for SIGINT or SIGTERM, then closes the node gracefully: it stops
 * accepting, tells its peers (and leaves its cluster), and lets calls in
 * flight finish. A second signal stops at once, with the shell's usual
 * 128 + signal number. `beforeClose` runs when the first signal arrives.
 */
export function drainOnSignal(node: Node, io: Io, command = "serve", beforeClose?: () => void): Promise<number> {
  return new Promise<number>((resolve) => {
    let draining = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (draining) {
        io.out(`amoeba: node ${node.name} stopping at once on a second ${signal}`);
        resolve(128 + (constants.signals[signal] ?? 0));
        return;
      }
      draining = true;
      beforeClose?.();
      io.out(`amoeba: node ${node.name} draining on ${signal}: calls in flight may finish (signal again to stop at once)`);
      node.close().then(
        () => {
          io.out(`amoeba: node ${node.name} stopped`);
          resolve(EXIT.ok);
        },
        (error: unknown) => {
          io.err(`amoeba ${command}: closing node ${node.name} failed: ${(error as Error)?.message ?? String(error)}`);
          resolve(EXIT.failure);
        },
      );
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
