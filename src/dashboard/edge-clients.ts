/**
 * The end users in front of each edge: the edge's node answers `amoeba.edge`
 * `clients` (how many distinct clients it saw in the last minute, and the
 * requests it admitted and refused, the calls it placed for them and how
 * many failed); the dashboard asks every edge of the clusters it watches.
 */
import type { EdgeClientsReading } from "../edge/client-tally.ts";
import { EdgeClientsContract } from "../edge/clients-contract.ts";
import { EDGE_LABEL } from "../edge/options.ts";
import type { ClusterReader, ClusterReading } from "./cluster-reader.ts";

/** What each edge said of its clients, by its node id; edges that did not answer are left out. */
export async function readEdgeClients(
  sources: ReadonlyArray<{ reader: ClusterReader; reading: ClusterReading }>,
  timeout: number,
): Promise<Map<string, EdgeClientsReading>> {
  const asks: Array<Promise<[string, EdgeClientsReading] | undefined>> = [];
  for (const { reader, reading } of sources) {
    for (const member of reading.members) {
      const own = member.record.id === reader.node.id;
      if (member.state === "dead" || member.state === "left" || (member.record.labels[EDGE_LABEL] === undefined && !(own && reader.edge))) continue;
      if (!member.record.services.some(([name]) => name === EdgeClientsContract.name)) continue;
      asks.push(
        (async (): Promise<[string, EdgeClientsReading] | undefined> => {
          // The node the dashboard reads through (an edge's own) may listen nowhere: asked in place.
          const peer = own ? reader.node : await reader.peer(member);
          if (peer === undefined) return undefined;
          const answer = await peer.client(EdgeClientsContract).clients({}, { timeout });
          return isReading(answer) ? [member.record.id, answer] : undefined;
        })().catch(() => undefined),
      );
    }
  }
  return new Map((await Promise.all(asks)).filter((entry) => entry !== undefined));
}

function isReading(value: unknown): value is EdgeClientsReading {
  const reading = value as Partial<EdgeClientsReading> | null;
  return typeof reading === "object" && reading !== null && [reading.clients, reading.refused, reading.admitted, reading.calls, reading.failed, reading.windowMs].every((n) => Number.isFinite(n));
}
