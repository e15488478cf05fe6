import net from "node:net";
import type { BrokerOptions } from "moleculer";

/**
 * Broker settings a user tuning moleculer 0.14 for speed would pick: its TCP
 * transporter with static URLs and no UDP discovery, JSON serializer (the
 * default), no metrics, tracing or logging.
 */
export function brokerOptions(nodeID: string, urls: string[]): BrokerOptions {
  return {
    namespace: "amoeba-bench",
    nodeID,
    logger: false,
    metrics: false,
    tracing: false,
    // The orchestrator owns signals and shutdown; the broker must not race it.
    skipProcessEventRegistration: true,
    transporter: {
      type: "TCP",
      options: { udpDiscovery: false, urls, gossipPeriod: 1 },
    },
  };
}

/**
 * Moleculer's TCP transporter listens on every interface and has no option
 * to pick one. The bench must stay on loopback, so while `start` runs, a
 * `listen({ port })` that names no host is pinned to 127.0.0.1.
 */
export async function withLoopbackListen<T>(start: () => Promise<T>): Promise<T> {
  const original = net.Server.prototype.listen;
  const pinned = function (this: net.Server, ...args: unknown[]): net.Server {
    const first = args[0];
    if (typeof first === "object" && first !== null && !("host" in first) && !("path" in first)) {
      args[0] = { ...first, host: "127.0.0.1" };
    }
    return (original as (...rest: unknown[]) => net.Server).apply(this, args);
  };
  net.Server.prototype.listen = pinned as typeof original;
  try {
    return await start();
  } finally {
    net.Server.prototype.listen = original;
  }
}
