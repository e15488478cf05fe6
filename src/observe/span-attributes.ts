import type { Attributes } from "./otel-types.ts";
import { parseAddress } from "../transport/address.ts";

// A node talks to few addresses: parse each once, not per span. Bounded, as a
// node accepting many short connections sees a new client address each time.
const MAX_CACHED = 1_024;
const cached = { server: new Map<string, Attributes>(), client: new Map<string, Attributes>() };

/**
 * OpenTelemetry's attributes for the other end of a call, from its Amoeba
 * address: `server.*` on a client span, `client.*` on a server span. Shared
 * objects: do not change them.
 */
export function addressAttributes(side: "server" | "client", address: string): Attributes {
  const cache = cached[side];
  let attributes = cache.get(address);
  if (attributes === undefined) {
    if (cache.size >= MAX_CACHED) cache.clear();
    attributes = parse(side, address);
    cache.set(address, attributes);
  }
  return attributes;
}

function parse(side: "server" | "client", address: string): Attributes {
  if (address === "") return {};
  try {
    const parsed = parseAddress(address);
    if (parsed.scheme === "tcp") return { [`${side}.address`]: parsed.host, [`${side}.port`]: parsed.port, "network.transport": "tcp" };
    if (parsed.scheme === "unix") return { [`${side}.address`]: parsed.path, "network.transport": "unix" };
  } catch {
    // An engine's address (nats-subject:…) or another form: as it is.
  }
  return { [`${side}.address`]: address };
}
