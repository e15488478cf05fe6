import { hostname } from "node:os";
import { StatsContract, type NodeStats } from "../balance/stats-contract.ts";
import type { Member } from "../lookup/types.ts";
import { askNode, ASK_TIMEOUT_MS, type AskRoute } from "./ask-node.ts";
import { reachableAddress } from "../lookup/reachable.ts";
import { formatShare, type InstanceFigures } from "../dashboard/figures.ts";

export { figuresOf, type InstanceFigures } from "../dashboard/figures.ts";

/**
 * Asks every live member with an address for its stats (`amoeba.stats`):
 * those that serve, and those that only call. Nodes that do not answer are left out.
 */
export async function gatherStats(members: readonly Member[], route: AskRoute): Promise<Map<string, NodeStats>> {
  const host = hostname();
  const out = new Map<string, NodeStats>();
  await Promise.all(
    members.map(async ({ record, state }) => {
      if (state !== "alive" && state !== "suspect") return;
      const address = reachableAddress(record, host);
      if (address === undefined) return;
      try {
        out.set(record.id, await askNode(address, "ls", (peer) => peer.client(StatsContract).get({}, { timeout: ASK_TIMEOUT_MS }), route));
      } catch {
        // A node that cannot answer shows no figures; ls still lists it.
      }
    }),
  );
  return out;
}

/** The figures as table cells: IN-FLIGHT, SHED, OUTSTANDING, EWMA, ERRORS, EJECTED. */
export function figureCells(figures: InstanceFigures): string[] {
  const dash = (value: number | null, format: (v: number) => string): string => (value === null ? "-" : format(value));
  return [
    dash(figures.inFlight, String),
    dash(figures.shed, String),
    String(figures.outstanding),
    dash(figures.ewmaMs, (v) => `${v.toFixed(1)} ms`),
    formatShare(figures.errorRate),
    figures.callers > 0 ? `${figures.ejectedBy}/${figures.callers}` : "-",
  ];
}

/** The headers of {@link figureCells}. */
export const FIGURE_HEADERS = ["IN-FLIGHT", "SHED", "OUTSTANDING", "EWMA", "ERRORS", "EJECTED"];
