/**
 * Protected mode, as Redis has it: a listener with no credentials configured
 * may be reached only from this machine (loopback or a Unix socket). To take
 * callers from other hosts it needs credentials (TLS, a cluster key, the
 * edge's `authenticate`), or an explicit `insecure` that is logged loudly.
 */
import { lookup } from "node:dns/promises";
import net from "node:net";
import { parseAddress } from "./address.ts";
import { AmoebaError, type AmoebaErrorCode } from "./errors.ts";

/** A listener refused by protected mode: it would take anonymous callers from other hosts. Nothing was bound. */
export class ExposureError extends AmoebaError {
  static readonly codes: readonly AmoebaErrorCode[] = ["INSECURE_LISTEN"];
  override readonly name = "ExposureError";
  declare readonly code: "INSECURE_LISTEN";

  constructor(message: string) {
    super("INSECURE_LISTEN", message, { unprocessed: true });
  }
}

/** How a listener may be reached: from this machine only, by callers with credentials, or by anyone. */
export type Exposure = "local" | "protected" | "insecure";

/** Whether a host (an IP literal or a name) means this machine only. `0.0.0.0` and `::` mean every interface: not loopback. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost" || bare.endsWith(".localhost")) return true;
  if (bare === "::1" || bare === "0:0:0:0:0:0:0:1") return true;
  // IPv4 127.0.0.0/8, also as an IPv4-mapped IPv6 address.
  const v4 = bare.startsWith("::ffff:") ? bare.slice(7) : bare;
  return net.isIPv4(v4) && v4.startsWith("127.");
}

/**
 * Whether an address is reached from this machine only: a Unix socket, an
 * in-process name, or TCP on a loopback host (a name counts when every address
 * it resolves to is loopback). Schemes of an engine (`nats://…`) are not
 * listeners of this node: they count as local, the engine guards them.
 */
export async function isLocalAddress(address: string): Promise<boolean> {
  if (!address.startsWith("tcp://")) return true;
  const { host } = parseAddress(address) as { host: string };
  if (isLoopbackHost(host)) return true;
  if (net.isIP(host) !== 0) return false;
  try {
    const found = await lookup(host, { all: true });
    return found.length > 0 && found.every((entry) => isLoopbackHost(entry.address));
  } catch {
    // A name that does not resolve cannot be listened on anyway; listening reports that.
    return false;
  }
}

/** What a listener has to protect it. */
export interface ExposureGuard {
  /** Credentials are configured (TLS, a cluster key, an authenticate function…). */
  credentials: boolean;
  /** The user accepted anonymous callers from other hosts. */
  insecure: boolean;
  /** What listens, for the error: `node calc-1`, `edge`. */
  what: string;
  /** How to configure credentials or opt out, for the error: `tls or clusterKey, or insecure: true`. */
  remedy: string;
}

/**
 * Checks an address against protected mode. Throws ExposureError when it
 * would take callers from other hosts with no credentials and no `insecure`;
 * returns "insecure" when `insecure` alone allows it (log that loudly).
 */
export async function checkExposure(address: string, guard: ExposureGuard): Promise<Exposure> {
  if (await isLocalAddress(address)) return "local";
  if (guard.credentials) return "protected";
  if (guard.insecure) return "insecure";
  throw new ExposureError(
    `${guard.what} refuses to listen on ${address}: it has no credentials, so anyone who reaches that address could call it. ` +
      `Listen on 127.0.0.1 or a Unix socket, configure ${guard.remedy} (see docs/security.md)`,
  );
}

/** The warning line for a listener that `insecure` exposed. */
export function insecureWarning(what: string, address: string): string {
  return `INSECURE: ${what} listens on ${address} with no credentials: anyone who reaches it may call every service (insecure is set)`;
}

/** {@link checkExposure}, then `warn` with the warning line when only `insecure` allowed the address: the one call a listener makes. */
export async function guardListen(address: string, guard: ExposureGuard, warn: (line: string) => void): Promise<void> {
  if ((await checkExposure(address, guard)) === "insecure") warn(insecureWarning(guard.what, address));
}
