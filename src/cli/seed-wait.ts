/**
 * A node told to join through seeds that never answer would otherwise run
 * alone and look healthy: a wrong --cluster-key, a mistyped address, a
 * firewall. The CLI waits a while for a seed to answer, then says so loudly
 * and exits, unless told to wait for the seeds.
 */
import type { Node } from "../index.ts";
import { flagOption, parseMs, stringOption, type ParsedArgs } from "./args.ts";
import { CliError, EXIT } from "./errors.ts";
import type { Io } from "./io.ts";

/** What to do when the seeds never answer (`--seed-timeout`, `--wait-for-seeds`). */
export interface SeedWait {
  readonly timeout: number;
  readonly wait: boolean;
}

/** The default of `--seed-timeout`, ms. */
export const DEFAULT_SEED_TIMEOUT = 10_000;

/** Reads `--seed-timeout` and `--wait-for-seeds`. */
export function planSeedWait(args: ParsedArgs, command: string): SeedWait {
  const timeout = stringOption(args, "seed-timeout");
  return { timeout: timeout === undefined ? DEFAULT_SEED_TIMEOUT : parseMs(timeout, "seed-timeout", command), wait: flagOption(args, "wait-for-seeds") };
}

/** Whether the node knows another live member: some seed answered. */
function met(node: Node): boolean {
  return node.members().some((member) => member.record.id !== node.id && member.state === "alive");
}

/**
 * Resolves once another member of the cluster is known. When none is, by
 * `plan.timeout` ms after `started` (when the command began to join): a warning line on stderr, then either a CliError (exit 3) or,
 * with `wait`, a note that it keeps trying and a line once a seed answers.
 */
export async function awaitSeeds(node: Node, seeds: readonly string[], plan: SeedWait, io: Io, command: string, started = Date.now()): Promise<void> {
  while (!met(node) && Date.now() - started < plan.timeout) await new Promise((resolve) => setTimeout(resolve, 100));
  if (met(node)) return;
  const line =
    `amoeba ${command}: warning: node ${node.name} in cluster "${node.cluster}": no seed answered within ${plan.timeout} ms (${seeds.join(", ")}). ` +
    "A seed is down or unreachable, or it has another --cluster-key or --cluster.";
  io.err(line);
  if (!plan.wait) throw new CliError(`no seed answered; start with --wait-for-seeds to keep trying, or check --seeds and --cluster-key`, EXIT.unreachable);
  io.err(`amoeba ${command}: node ${node.name} keeps trying its seeds (--wait-for-seeds)`);
  const timer = setInterval(() => {
    if (!met(node)) return;
    clearInterval(timer);
    io.out(`amoeba: node ${node.name} met its cluster "${node.cluster}" through its seeds`);
  }, 250);
  timer.unref();
}

/**
 * Resolves as `running` does (the command's wait for a signal), unless the
 * seed check fails first: then `stop` runs and the check's error is thrown.
 * The check runs alongside, so the signal handlers are in place as soon as
 * the ready lines are printed.
 */
export function unlessSeedsFail<T>(running: Promise<T>, check: Promise<void> | null, stop: () => Promise<void>): Promise<T> {
  if (check === null) return running;
  const failed = check.then(
    () => new Promise<never>(() => {}),
    async (error: unknown) => {
      await stop();
      throw error;
    },
  );
  return Promise.race([running, failed]);
}
