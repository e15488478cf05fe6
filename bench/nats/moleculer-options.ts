import type { BrokerOptions } from "moleculer";

/**
 * Broker settings for moleculer 0.14 on NATS: its NATS transporter (the
 * `nats` v2 client) to the bench's server, JSON serializer and its own
 * balancer (the defaults), no metrics, tracing or logging.
 */
export function natsBrokerOptions(nodeID: string, natsUrl: string): BrokerOptions {
  return {
    namespace: "amoeba-bench-nats",
    nodeID,
    logger: false,
    metrics: false,
    tracing: false,
    // The orchestrator owns signals and shutdown; the broker must not race it.
    skipProcessEventRegistration: true,
    transporter: { type: "NATS", options: { url: natsUrl } },
  };
}
