/** A service only one cluster has, and the clusters and gateways of the route tests: in this process, or `amoeba gateway` processes. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { bidiStream, clientStream, contract, RpcError, startGateway, stream, unary, type CallContext, type Gateway, type GatewayOptions, type Handlers } from "../../src/index.ts";
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/config.ts";
import { CliProcess, type Cleanup } from "../cli/support.ts";
import { aborted, recordingLogger, type Teardown } from "../rpc/support.ts";

export const lookup = { membership: FAST_MEMBERSHIP_CONFIG };

/** A service whose handlers report what reached them. */
export const Regional = contract("route.regional", "1.0.0", {
  where: unary({
    input: z.object({}),
    output: z.object({ node: z.string(), meta: z.record(z.string(), z.string()), remaining: z.number().nullable() }),
    idempotent: true,
  }),
  hold: unary({ input: z.object({ ms: z.number() }), output: z.string() }),
  fail: unary({ input: z.object({}), output: z.string() }),
  count: stream({ input: z.object({ to: z.number() }), output: z.number() }),
  sum: clientStream({ input: z.number(), output: z.number() }),
  echo: bidiStream({ input: z.string(), output: z.string() }),
});

/** What a Regional instance saw: the contexts of `hold` calls and whether they were aborted. */
export interface RegionalSeen {
  holds: CallContext[];
  aborts: unknown[];
}

/** Handlers of Regional on node `name`. */
export function regional(name: string, seen: RegionalSeen = { holds: [], aborts: [] }): Handlers<typeof Regional> {
  return {
    // What remains of the call's deadline when the handler runs.
    where: (_input, ctx) => ({ node: name, meta: { ...ctx.meta }, remaining: ctx.deadline === undefined ? null : ctx.deadline - Date.now() }),
    hold: async ({ ms }, ctx) => {
      seen.holds.push(ctx);
      const stop = aborted(ctx.signal).then((reason) => {
        seen.aborts.push(reason);
        return "aborted";
      });
      return Promise.race([stop, new Promise<string>((resolve) => setTimeout(resolve, ms, "held").unref())]);
    },
    fail: () => {
      throw new RpcError("FAILED_PRECONDITION", "route.regional.fail: out of order");
    },
    async *count({ to }) {
      for (let i = 1; i <= to; i++) yield i;
    },
    sum: async (numbers) => {
      let total = 0;
      for await (const n of numbers) total += n;
      return total;
    },
    async *echo(words) {
      for await (const word of words) yield word.toUpperCase();
    },
  };
}

/** Cluster names of one test run: a run never meets another's members on this machine. */
export function clusterNames(): { lanA: string; core: string; regionB: string } {
  const tag = `${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  return { lanA: `lan-a-${tag}`, core: `core-${tag}`, regionB: `region-b-${tag}` };
}

/** A temporary rendezvous directory for the nodes of a test file. */
export async function useRendezvous(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "amoeba-route-test-"));
  process.env.AMOEBA_RENDEZVOUS_DIR = dir;
  return () => rm(dir, { recursive: true, force: true });
}

/** Starts a gateway with fast gossip and a quiet logger, closed at the end. */
export async function gateway(td: Teardown, options: GatewayOptions): Promise<Gateway> {
  const started = await startGateway({ logger: recordingLogger(), membership: FAST_MEMBERSHIP_CONFIG, ...options });
  return td.add(`gateway ${started.name}`, started, (g) => g.close());
}

/**
 * Starts `amoeba gateway` (with `extra` options) and waits until it printed
 * its line for every cluster; returns the process and its calls address per cluster.
 */
export async function startGatewayProcess(name: string, join: Record<string, string>, cleanup: Cleanup, extra: readonly string[] = []) {
  const args = ["gateway", "--name", name, ...Object.entries(join).flatMap(([cluster, seed]) => ["--join", `${cluster}=${seed}`]), ...extra];
  const process = new CliProcess(args, cleanup);
  const addresses: Record<string, string> = {};
  for (const cluster of Object.keys(join)) {
    const match = await process.waitFor(new RegExp(`gateway ${name} in cluster ${cluster}, gossip on \\S+, calls on (\\S+)\\n`));
    addresses[cluster] = match[1]!;
  }
  return { process, addresses };
}
