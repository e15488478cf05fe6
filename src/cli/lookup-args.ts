import { checkSocketAddress, listOption, parseMs, stringOption, type ParsedArgs } from "./args.ts";
import { checkEngineUrl } from "./engine.ts";
import { UsageError } from "./errors.ts";
import { CLUSTER_KEY_ENV } from "./usage.ts";

/** How a command joins a cluster's look-up, as its command line says. */
export interface LookupPlan {
  /** The cluster's name; undefined for the default cluster. */
  readonly cluster: string | undefined;
  /** Gossip seeds; undefined to use the local rendezvous. */
  readonly seeds: readonly string[] | undefined;
  /** A registry server instead of gossip. */
  readonly registry: string | undefined;
  /** From --cluster-key or the environment. */
  readonly clusterKey: string | undefined;
  /** Where its own gossip socket listens. */
  readonly gossip: string | undefined;
  /** A NATS server to look (and serve) through instead of gossip or a registry. */
  readonly engine?: string | undefined;
}

/** How long ls, nodes and call gather the view by default (ms). */
export const DEFAULT_WAIT_MS = 1_500;

const GOSSIP_ADDRESS = /^udp:\/\/(\[[0-9A-Fa-f:.]+\]|[^/:[\]]+):\d{1,5}$/;

/** The cluster key in the environment ($AMOEBA_CLUSTER_KEY), for a node dialed by address: connections to a keyed node must prove it. */
export function clusterKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = env[CLUSTER_KEY_ENV];
  return key === "" ? undefined : key;
}

/**
 * Reads --cluster, --seeds, --registry, --cluster-key and --gossip. Undefined
 * when none of --cluster, --seeds, --registry or --gossip is given: the
 * command joins no look-up (a key alone in the environment does not make it
 * join one). Every mistake is a UsageError naming `command`.
 */
export function planLookup(args: ParsedArgs, command: string, env: NodeJS.ProcessEnv = process.env): LookupPlan | undefined {
  const cluster = stringOption(args, "cluster");
  const seedList = listOption(args, "seeds")
    .flatMap((text) => text.split(","))
    .map((seed) => seed.trim())
    .filter((seed) => seed !== "");
  const registry = stringOption(args, "registry");
  const gossip = stringOption(args, "gossip");
  const keyFlag = stringOption(args, "cluster-key");
  const keyEnv = clusterKeyFromEnv(env);
  const seedsGiven = listOption(args, "seeds").length > 0;
  const engine = stringOption(args, "engine");
  if (engine !== undefined) {
    checkEngineUrl(engine, command);
    if (seedsGiven || registry !== undefined || gossip !== undefined || keyFlag !== undefined) {
      throw new UsageError("--engine finds nodes through NATS; it does not go with --seeds, --registry, --gossip or --cluster-key", command);
    }
    if (cluster !== undefined && (cluster === "" || cluster.length > 128)) throw new UsageError("--cluster takes a name of 1 to 128 characters", command);
    return { cluster, seeds: undefined, registry: undefined, clusterKey: undefined, gossip: undefined, engine };
  }

  if (cluster === undefined && !seedsGiven && registry === undefined && gossip === undefined) {
    if (keyFlag !== undefined) throw new UsageError("--cluster-key needs a cluster to join: add --cluster, --seeds or --gossip", command);
    return undefined;
  }
  if (cluster !== undefined && (cluster === "" || cluster.length > 128)) {
    throw new UsageError("--cluster takes a name of 1 to 128 characters", command);
  }
  if (seedsGiven && seedList.length === 0) throw new UsageError("--seeds takes gossip addresses, as in udp://127.0.0.1:7946", command);
  for (const seed of seedList) checkGossipAddress(seed, "seeds", command);
  if (gossip !== undefined) checkGossipAddress(gossip, "gossip", command);
  if (registry !== undefined) {
    if (seedsGiven || gossip !== undefined) {
      throw new UsageError("--registry is client-server look-up; it does not go with --seeds or --gossip, which are for gossip", command);
    }
    if (keyFlag !== undefined) throw new UsageError("--cluster-key authenticates gossip; a registry does not use it", command);
    // Several registries: comma-separated (docs/lookup.md).
    for (const address of registry.split(",")) checkSocketAddress(address.trim(), command);
  }
  if (keyFlag === "") throw new UsageError("--cluster-key takes a non-empty key", command);
  return {
    cluster,
    seeds: seedsGiven ? seedList : undefined,
    registry,
    // A key in the environment is for gossip; a registry ignores it.
    clusterKey: registry !== undefined ? undefined : (keyFlag ?? keyEnv),
    gossip,
  };
}

/** How long to gather the cluster's view. */
export interface WaitPlan {
  readonly ms: number;
  /** True when --wait was given: gather for all of it rather than stop once the view settles. */
  readonly fixed: boolean;
}

/** Reads --wait (default: at most {@link DEFAULT_WAIT_MS}, less once the view settles). */
export function planWait(args: ParsedArgs, command: string): WaitPlan {
  const text = stringOption(args, "wait");
  return text === undefined ? { ms: DEFAULT_WAIT_MS, fixed: false } : { ms: parseMs(text, "wait", command), fixed: true };
}

/** `cluster "shop" through udp://…`, for messages: where the command looked. */
export function describeWhere(plan: LookupPlan): string {
  const cluster = `cluster "${plan.cluster ?? "default"}"`;
  if (plan.engine !== undefined) return `${cluster} on NATS at ${plan.engine}`;
  if (plan.registry !== undefined) return `the registry at ${plan.registry}`;
  if (plan.seeds !== undefined) return `${cluster} through ${plan.seeds.join(", ")}`;
  return `${cluster} on this machine`;
}

/** Rejects what is not a gossip address `udp://host:port`, naming `--option` and `command`. */
export function checkGossipAddress(address: string, option: string, command: string): void {
  if (!GOSSIP_ADDRESS.test(address)) {
    throw new UsageError(`--${option} takes a gossip address udp://host:port, not "${address}"`, command);
  }
}
