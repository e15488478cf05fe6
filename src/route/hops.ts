import { RpcError } from "../rpc/rpc-error.ts";
import type { Meta } from "../wire/index.ts";

/** Call metadata: how many gateways the call crossed so far. */
export const HOPS_META = "amoeba-hops";
/** Call metadata: the gateways the call crossed, comma-separated, first one first. */
export const VIA_META = "amoeba-via";
/** How many gateways a call may cross by default. */
export const DEFAULT_MAX_HOPS = 8;

/** Where a call is about to be forwarded, for the hop check and its errors. */
export interface Hop {
  readonly service: string;
  readonly method: string;
  /** The gateway forwarding it. */
  readonly gateway: string;
  readonly maxHops: number;
}

/**
 * The metadata a forwarded call carries on: the caller's, with one more hop
 * and this gateway added to the way. An RpcError instead when the call went
 * round in a loop (it already crossed this gateway), crossed `maxHops`
 * gateways, or came with unreadable hop metadata; such a call is not followed.
 */
export function nextHopMeta(meta: Readonly<Meta>, hop: Hop): Meta | RpcError {
  const where = { service: hop.service, method: hop.method, node: hop.gateway, unprocessed: true };
  const hopsText = meta[HOPS_META];
  if (hopsText !== undefined && !/^\d{1,4}$/.test(hopsText)) {
    return new RpcError("INVALID_ARGUMENT", `${hop.service}.${hop.method}: metadata ${HOPS_META} must be a whole number, not "${hopsText.slice(0, 32)}"`, where);
  }
  const hops = hopsText === undefined ? 0 : Number(hopsText);
  const viaText = meta[VIA_META];
  const via = viaText === undefined || viaText === "" ? [] : viaText.split(",");
  if (via.includes(hop.gateway)) {
    return new RpcError("FAILED_PRECONDITION", `${hop.service}.${hop.method}: the route loops: the call came back to gateway ${hop.gateway} (${wayText(via, hop.gateway)}); not followed`, where);
  }
  if (hops + 1 > hop.maxHops) {
    return new RpcError(
      "FAILED_PRECONDITION",
      `${hop.service}.${hop.method}: the call would cross more than ${hop.maxHops} gateways, the hop limit (${wayText(via, hop.gateway)}); the route likely loops; not followed`,
      where,
    );
  }
  return { ...meta, [HOPS_META]: String(hops + 1), [VIA_META]: via.length === 0 ? hop.gateway : `${viaText},${hop.gateway}` };
}

/** The way a call took so far and this gateway, for errors: "gw-1 > gw-2". */
function wayText(via: readonly string[], gateway: string): string {
  return [...via, gateway].join(" > ");
}
