import { readFileSync } from "node:fs";
import { constants } from "node:os";
import type { Gateway, GatewayClusterOptions, GatewayOptions } from "../index.ts";
import { isAggregate } from "../route-rules/aggregate.ts";
import { CLUSTER_NAME } from "../route-rules/route-label.ts";
import { MAX_GATEWAY_COST, parseAggregate } from "../route/options.ts";
import { parseRouteRules } from "../route-rules/rules.ts";
import { flagOption, listOption, parseCount, parseMs, parseOrHelp, parseRecentCalls, stringOption, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { commandLogger } from "./log-level.ts";
import { checkGossipAddress } from "./lookup-args.ts";
import { readPolicy } from "./policy-file.ts";
import { readTokens, tokenFromEnv } from "./token-args.ts";
import { planServerTls } from "./tls-args.ts";
import { awaitSeeds, planSeedWait, unlessSeedsFail } from "./seed-wait.ts";
import { CLUSTER_KEY_ENV, GATEWAY } from "./usage.ts";

/** `amoeba gateway`: joins several clusters and forwards calls between them until SIGINT or SIGTERM. Returns the exit code. */
export async function runGateway(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(GATEWAY, argv, io);
  if (!args) return EXIT.ok;
  const options = { ...planGateway(args), logger: commandLogger(args, "gateway") };
  const { ExposureError, startGateway } = await import("../index.ts");
  let gateway: Gateway;
  const started = Date.now();
  try {
    gateway = await startGateway(options);
  } catch (error) {
    // Protected mode refused a --host beyond loopback: a command-line matter, as for serve.
    if (error instanceof ExposureError) throw new UsageError(`${error.message}; or --insecure`, "gateway");
    throw new CliError(`cannot start the gateway: ${(error as Error)?.message ?? String(error)}`, EXIT.unreachable);
  }
  // Listen for signals before saying it is up: whoever reads these lines may signal at once.
  const signalled = closeOnSignal(gateway, io);
  for (const cluster of gateway.clusters) {
    const node = gateway.node(cluster);
    io.out(`amoeba: gateway ${gateway.name} in cluster ${cluster}, gossip on ${node.gossipAddress ?? "?"}, calls on ${node.addresses.join(", ")}`);
  }
  const seedWait = planSeedWait(args, "gateway");
  const seeded = gateway.clusters.filter((cluster) => options.join[cluster]?.seeds !== undefined);
  const seeds = seeded.length === 0 ? null : Promise.all(seeded.map((cluster) => awaitSeeds(gateway.node(cluster), options.join[cluster]!.seeds!, seedWait, io, "gateway", started))).then(() => {});
  const printed = new Map<string, string>();
  gateway.onRoutes(() => {
    for (const cluster of gateway.clusters) {
      const line = gateway
        .routes(cluster)
        // An aggregate (shop.*) stands for every version: no @version.
        .map((route) => `${isAggregate(route.service) ? route.service : `${route.service}@${route.version}`} (cost ${route.cost} via ${route.path.join(" > ")})`)
        .sort()
        .join(", ");
      if (printed.get(cluster) === line) continue;
      printed.set(cluster, line);
      io.out(`amoeba: gateway ${gateway.name} routes into ${cluster}: ${line === "" ? "none" : line}`);
    }
  });
  return unlessSeedsFail(signalled, seeds, () => gateway.close());
}

/** Checks the command line; every mistake is a UsageError (exit 2). */
export function planGateway(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): GatewayOptions {
  if (args.positionals.length > 0) throw new UsageError(`takes no arguments, got ${args.positionals.join(" ")}`, "gateway");
  const host = stringOption(args, "host") ?? "127.0.0.1";
  if (!/^[\w.:-]+$/.test(host)) throw new UsageError(`--host takes an interface address such as 127.0.0.1, not "${host}"`, "gateway");
  const keyFlag = stringOption(args, "cluster-key");
  if (keyFlag === "") throw new UsageError("--cluster-key takes a non-empty key", "gateway");
  const clusterKey = keyFlag ?? (env[CLUSTER_KEY_ENV] === "" ? undefined : env[CLUSTER_KEY_ENV]);
  const bracketed = host.includes(":") ? `[${host}]` : host;
  // One certificate and policy for its members in every cluster, as one cluster key.
  const tls = planServerTls(args, "gateway");
  const policy = stringOption(args, "policy");
  const authorization = policy === undefined ? undefined : readPolicy(policy, "gateway");
  const tokensFile = stringOption(args, "tokens");
  const tokens = tokensFile === undefined ? undefined : readTokens(tokensFile, "gateway");
  const token = tokenFromEnv("gateway", env);
  const join: Record<string, GatewayClusterOptions> = {};
  for (const text of listOption(args, "join")) {
    const [cluster, seeds] = parseJoin(text);
    if (Object.hasOwn(join, cluster)) throw new UsageError(`--join names cluster ${cluster} twice; give its seeds in one --join, separated by commas`, "gateway");
    join[cluster] = {
      ...(seeds.length > 0 ? { seeds } : {}),
      listen: `tcp://${bracketed}:0`,
      gossip: `udp://${bracketed}:0`,
      ...(clusterKey !== undefined ? { clusterKey } : {}),
      ...(tls !== undefined ? { tls: tls.server, clientTls: tls.client } : {}),
      ...(authorization !== undefined ? { authorization } : {}),
      ...(tokens !== undefined ? { tokens } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(flagOption(args, "insecure") ? { insecure: true } : {}),
    };
  }
  const clusters = Object.keys(join);
  if (clusters.length < 2) {
    throw new UsageError(`a gateway joins two clusters or more: --join <cluster>=<udp://host:port> for each${clusters.length === 1 ? ` (only ${clusters[0]} given)` : ""}`, "gateway");
  }
  const cost = stringOption(args, "cost");
  if (cost !== undefined && (!/^\d{1,4}$/.test(cost) || Number(cost) > MAX_GATEWAY_COST)) {
    throw new UsageError(`--cost takes a whole number from 0 to ${MAX_GATEWAY_COST}, not "${cost}"`, "gateway");
  }
  const maxHops = stringOption(args, "max-hops");
  const drain = stringOption(args, "drain-timeout");
  const name = stringOption(args, "name");
  if (name !== undefined && (name === "" || name.includes(","))) throw new UsageError(`--name takes a name without commas, not "${name}"`, "gateway");
  const aggregate = listOption(args, "aggregate").map((text) => {
    try {
      return parseAggregate(text, clusters);
    } catch (error) {
      throw new UsageError(`--aggregate ${(error as Error).message.replace(/^aggregate /, "")}`, "gateway");
    }
  });
  const routes = stringOption(args, "routes");
  const recentCalls = stringOption(args, "recent-calls");
  const hops = maxHops === undefined ? undefined : parseCount(maxHops, "max-hops", "gateway");
  if (hops !== undefined && hops > 64) throw new UsageError(`--max-hops takes 1 to 64, not ${hops}`, "gateway");
  return {
    join,
    ...(name !== undefined ? { name } : {}),
    ...(cost !== undefined ? { cost: Number(cost) } : {}),
    ...(hops !== undefined ? { maxHops: hops } : {}),
    ...(routes !== undefined ? { routes: readRules(routes) } : {}),
    ...(aggregate.length > 0 ? { aggregate } : {}),
    ...(drain !== undefined ? { drainTimeout: Math.max(1, parseMs(drain, "drain-timeout", "gateway")) } : {}),
    ...(recentCalls !== undefined ? { traces: { recent: parseRecentCalls(recentCalls, "gateway") } } : {}),
  };
}

/** The text of a route rules file, checked: a mistake names the file. */
function readRules(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CliError(`cannot read --routes ${file}: ${(error as Error).message}`);
  }
  try {
    parseRouteRules(text);
  } catch (error) {
    throw new UsageError(`--routes ${file}: ${(error as Error).message}`, "gateway");
  }
  return text;
}

/** `core=udp://10.0.0.5:7946,udp://10.0.0.6:7946` (or `core` alone: its members on this machine) → the cluster and its seeds. */
function parseJoin(text: string): [string, string[]] {
  const equals = text.indexOf("=");
  const cluster = equals < 0 ? text : text.slice(0, equals);
  if (!CLUSTER_NAME.test(cluster)) {
    throw new UsageError(
      `--join takes <cluster>=<udp://host:port>, with a cluster name of letters, digits, '_', '-' or '.' first; not "${text}"`,
      "gateway",
    );
  }
  const seeds = equals < 0 ? [] : text.slice(equals + 1).split(",").map((seed) => seed.trim());
  if (equals >= 0 && seeds.every((seed) => seed === "")) throw new UsageError(`--join ${cluster}= needs a seed after '=', as in ${cluster}=udp://127.0.0.1:7946`, "gateway");
  for (const seed of seeds) checkGossipAddress(seed, "join", "gateway");
  return [cluster, seeds];
}

/** Waits for SIGINT or SIGTERM, then closes the gateway gracefully; a second signal stops at once. */
function closeOnSignal(gateway: Gateway, io: Io): Promise<number> {
  return new Promise<number>((resolveExit) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (closing) {
        io.out(`amoeba: gateway ${gateway.name} stopping at once on a second ${signal}`);
        resolveExit(128 + (constants.signals[signal] ?? 0));
        return;
      }
      closing = true;
      io.out(`amoeba: gateway ${gateway.name} draining on ${signal}: calls in flight may finish (signal again to stop at once)`);
      gateway.close().then(
        () => {
          io.out(`amoeba: gateway ${gateway.name} stopped`);
          resolveExit(EXIT.ok);
        },
        (error: unknown) => {
          io.err(`amoeba gateway: closing failed: ${(error as Error)?.message ?? String(error)}`);
          resolveExit(EXIT.failure);
        },
      );
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
