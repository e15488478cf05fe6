/**
 * Finding the shop's services by look-up instead of by address. Every process
 * of one run joins one of the run's clusters (`core-<pid of main.ts>` or
 * `region-b-<pid of main.ts>`, so two runs never mix) with no seeds: nodes
 * of a cluster on this machine find each other through the local rendezvous
 * folder, then gossip. A process that needs a
 * service waits here until the look-up shows an instance of it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Contract, Node } from "../../src/index.ts";

/** One service instance as the look-up lists it. */
export type Instance = ReturnType<Node["lookup"]>[number];

/** How long a process waits for the services it needs. */
export const LOOKUP_WAIT = 10_000;
const POLL_EVERY = 25;

/**
 * Look-up settings for the shop's nodes: the defaults, except that a node
 * leaving waits at most 500 ms (not 5 s) for its goodbye to go out. The shop
 * stops all its processes at once, and a goodbye addressed to members that are
 * leaving too may find no one left to take it; the wait must stay well within
 * the 3 s that main.ts grants each process to stop.
 */
export const SHOP_LOOKUP = { membership: { leaveTimeout: 500 } };

/**
 * What every node of the shop keeps for the dashboard: metrics (calls, latency
 * per method) and its recent calls (each call's path across nodes, with timings).
 */
export const WATCHED = { metrics: true, traces: { recent: 500 } } as const;

/** The clusters of the run started by the process `pid`: the core and the second region. */
export function shopClusters(pid: number): { core: string; regionB: string } {
  return { core: `core-${pid}`, regionB: `region-b-${pid}` };
}

/**
 * Polls `node.lookup(...)` until every contract has an instance compatible
 * with it (the versions `node.client(contract)` would accept), and returns one
 * instance per contract. Throws after `timeout` ms, naming what is missing;
 * returns null if `signal` aborts first.
 */
export async function awaitServices(
  node: Node,
  contracts: readonly Contract[],
  { timeout = LOOKUP_WAIT, signal }: { timeout?: number; signal?: AbortSignal } = {},
): Promise<Instance[] | null> {
  const end = Date.now() + timeout;
  for (;;) {
    const found = contracts.map((contract) => node.lookup(contract, { version: `^${contract.version}` })[0]);
    if (found.every((instance) => instance !== undefined)) return found as Instance[];
    if (signal?.aborted) return null;
    if (Date.now() >= end) {
      const missing = contracts.filter((_, i) => found[i] === undefined).map((contract) => `${contract.name}@^${contract.version}`);
      const members = node.members().map((member) => `${member.record.name} (${member.state})`);
      throw new Error(
        `look-up: no instance of ${missing.join(", ")} in cluster ${node.cluster} after ${timeout} ms ` +
          `(members seen: ${members.join(", ") || "none"})`,
      );
    }
    await sleep(POLL_EVERY, undefined, { signal }).catch(() => {});
  }
}

/** `catalog@1.0.0 on catalog, …` */
export function describe(instances: readonly Instance[]): string {
  return instances.map((instance) => `${instance.service}@${instance.version} on ${instance.node.name}`).join(", ");
}

/** The members this node sees alive (or suspected, not yet declared dead), itself included. */
export function liveMembers(node: Node): number {
  return node.members().filter((member) => member.state === "alive" || member.state === "suspect").length;
}
