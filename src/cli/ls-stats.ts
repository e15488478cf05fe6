import { hostname } from "node:os";
import { StatsContract, type NodeStats } from "../balance/stats-contract.ts";
import type { Instance, Member } from "../lookup/types.ts";
import type { Node } from "../node/index.ts";
import { askNode, ASK_TIMEOUT_MS } from "./ask-node.ts";
import { reachableAddress } from "../lookup/reachable.ts";

/** What `amoeba ls --stats` shows of one instance, gathered from every node. */
export interface InstanceFigures {
  /** Calls it runs now, and calls it refused for concurrency (from the instance's own node). */
  inFlight: number | null;
  shed: number | null;
  /** Calls in flight to it from the nodes that call it, together. */
  outstanding: number;
  /** Peak-EWMA latency its callers see, weighted by their calls (ms); null when no node called it. */
  ewmaMs: number | null;
  /** Share of recent calls that failed, over its callers. */
  errorRate: number | null;
  /** How many of the nodes that call it have it ejected, of how many call it. */
  ejectedBy: number;
  callers: number;
}

/**
 * Asks every live member with an address for its stats (`amoeba.stats`):
 * those that serve, and those that only call. Nodes that do not answer are left out.
 */
export async function gatherStats(members: readonly Member[], via?: Node): Promise<Map<string, NodeStats>> {
  const host = hostname();
  const out = new Map<string, NodeStats>();
  await Promise.all(
    members.map(async ({ record, state }) => {
      if (state !== "alive" && state !== "suspect") return;
      const address = reachableAddress(record, host);
      if (address === undefined) return;
      try {
        out.set(record.id, await askNode(address, "ls", (peer) => peer.client(StatsContract).get({}, { timeout: ASK_TIMEOUT_MS }), via));
      } catch {
        // A node that cannot answer shows no figures; ls still lists it.
      }
    }),
  );
  return out;
}

/** One instance's figures: its own node's serving counts and every caller's view of it. */
export function figuresOf(instance: Instance, stats: ReadonlyMap<string, NodeStats>): InstanceFigures {
  const own = stats.get(instance.node.id)?.server.services[`${instance.service}@${instance.version}`];
  let outstanding = 0;
  let calls = 0;
  let latencySum = 0;
  let failures = 0;
  let ejectedBy = 0;
  let callers = 0;
  for (const node of stats.values()) {
    for (const service of node.services) {
      if (service.service !== instance.service) continue;
      for (const seen of service.instances) {
        if (seen.nodeId !== instance.node.id || seen.calls === 0) continue;
        callers++;
        outstanding += seen.outstanding;
        calls += seen.calls;
        latencySum += seen.ewmaMs * seen.calls;
        failures += seen.errorRate * seen.calls;
        if (seen.state !== "healthy") ejectedBy++;
      }
    }
  }
  return {
    inFlight: own?.inFlight ?? null,
    shed: own?.shed ?? null,
    outstanding,
    ewmaMs: calls > 0 ? latencySum / calls : null,
    errorRate: calls > 0 ? failures / calls : null,
    ejectedBy,
    callers,
  };
}

/** The figures as table cells: IN-FLIGHT, SHED, OUTSTANDING, EWMA, ERRORS, EJECTED. */
export function figureCells(figures: InstanceFigures): string[] {
  const dash = (value: number | null, format: (v: number) => string): string => (value === null ? "-" : format(value));
  return [
    dash(figures.inFlight, String),
    dash(figures.shed, String),
    String(figures.outstanding),
    dash(figures.ewmaMs, (v) => `${v.toFixed(1)} ms`),
    dash(figures.errorRate, (v) => `${(v * 100).toFixed(1)} %`),
    figures.callers > 0 ? `${figures.ejectedBy}/${figures.callers}` : "-",
  ];
}

/** The headers of {@link figureCells}. */
export const FIGURE_HEADERS = ["IN-FLIGHT", "SHED", "OUTSTANDING", "EWMA", "ERRORS", "EJECTED"];
