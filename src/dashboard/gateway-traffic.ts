/**
 * Traffic through gateways. A gateway forwards calls with balancers of its
 * own, which its nodes' `amoeba.stats` does not list; every gateway member
 * answers them through the built-in `amoeba.gateway` service (`stats`: per
 * forwarded service, the instances calls went to). The dashboard finds that
 * service by name in what reflection tells and asks one member per gateway,
 * so that each forwarded call is counted once.
 */
import type { ServiceStats } from "../balance/service-balancer.ts";
import { dynamicContract } from "../cli/dynamic-contract.ts";
import { GATEWAY_LABEL } from "../route-rules/route-label.ts";
import type { ClusterReader, ClusterReading } from "./cluster-reader.ts";

const GATEWAY_SERVICE = "amoeba.gateway";
const STATS_METHOD = "stats";

/** What each gateway forwarded, by the member id it is counted under: one member per gateway name. */
export async function readGatewayTraffic(
  sources: ReadonlyArray<{ reader: ClusterReader; reading: ClusterReading }>,
  timeout: number,
): Promise<Map<string, ServiceStats[]>> {
  const asked = new Set<string>();
  const asks: Array<Promise<[string, ServiceStats[]]>> = [];
  for (const { reader, reading } of sources) {
    for (const member of reading.members) {
      if (member.record.labels[GATEWAY_LABEL] === undefined || asked.has(member.record.name)) continue;
      const served = reading.descriptions.get(member.record.id)?.find((description) => description.name === GATEWAY_SERVICE);
      if (served === undefined || !served.methods.some((method) => method.name === STATS_METHOD)) continue;
      asked.add(member.record.name);
      asks.push(
        (async (): Promise<[string, ServiceStats[]]> => {
          const peer = await reader.peer(member);
          if (peer === undefined) return [member.record.id, []];
          const client = peer.client(dynamicContract(GATEWAY_SERVICE, served.version, STATS_METHOD, "unary")) as Record<
            string,
            (input: unknown, options: { timeout: number }) => Promise<unknown>
          >;
          const answer = await client[STATS_METHOD]!({}, { timeout });
          return [member.record.id, Array.isArray(answer) ? answer.filter(isServiceStats) : []];
        })().catch((): [string, ServiceStats[]] => [member.record.id, []]),
      );
    }
  }
  return new Map(await Promise.all(asks));
}

function isServiceStats(value: unknown): value is ServiceStats {
  if (typeof value !== "object" || value === null) return false;
  const stats = value as { service?: unknown; instances?: unknown };
  return (
    typeof stats.service === "string" &&
    Array.isArray(stats.instances) &&
    stats.instances.every(
      (seen: unknown) =>
        typeof seen === "object" &&
        seen !== null &&
        typeof (seen as { nodeId?: unknown }).nodeId === "string" &&
        Number.isFinite((seen as { calls?: unknown }).calls) &&
        Number.isFinite((seen as { ewmaMs?: unknown }).ewmaMs) &&
        Number.isFinite((seen as { errorRate?: unknown }).errorRate),
    )
  );
}
