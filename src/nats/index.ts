/**
 * @module amoeba/nats — the NATS engine: the same services on NATS.
 *
 * ```ts
 * import { startNode } from "amoeba";
 * import { nats } from "amoeba/nats";
 * const node = await startNode({ name: "calc-1", engine: nats({ servers: ["nats://127.0.0.1:4222"] }) });
 * ```
 *
 * The node then listens at `nats://<node id>`: every Amoeba call, stream and
 * event runs over virtual connections carried by NATS messages (see
 * switchboard.ts), with every semantic of the socket transports. Look-up
 * speaks the NATS micro protocol, so NATS's tools see the services.
 */
import type { Engine, EngineHost, RunningEngine } from "../engine.ts";
import type { MemberRecord } from "../lookup/types.ts";
import { createNatsLookup } from "./lookup.ts";
import { MicroResponder } from "./micro.ts";
import { connectNats, resolveNatsOptions, type NatsEngineOptions } from "./options.ts";
import { Switchboard } from "./switchboard.ts";

export type { NatsEngineOptions, NatsTlsOptions } from "./options.ts";
export type { NatsLookupOptions } from "./lookup.ts";
export { MICRO_TYPES, QUEUE_GROUP, endpointSubject, microName, httpStatus } from "./micro.ts";
export type { MicroEndpointInfo, MicroEndpointStats, MicroIdentity, MicroInfo, MicroStats } from "./micro.ts";
export { parseNatsAddress } from "./switchboard.ts";

/**
 * The NATS engine for `startNode({ engine })`. Connecting happens when the
 * node starts; a server that cannot be reached or refuses the credentials
 * makes `startNode` reject with a message that says which.
 */
export function nats(options: NatsEngineOptions): Engine {
  const resolved = resolveNatsOptions(options);
  return {
    name: "nats",
    async start(host: EngineHost): Promise<RunningEngine> {
      const nc = await connectNats(resolved, host.nodeName);
      const board = new Switchboard({ nc, prefix: resolved.prefix, nodeId: host.nodeId, limits: host.limits, logger: host.logger });
      board.start();
      let stopped = false;
      // Losing the server may lose messages in flight: end every virtual
      // connection so their calls fail now (idempotent ones are retried) and
      // the next calls dial again once the client has reconnected.
      void (async () => {
        for await (const status of nc.status()) {
          if (status.type === "disconnect") {
            host.logger.warn({ server: status.server }, "lost the NATS server; reconnecting");
            board.disconnected(new Error(`lost the NATS server ${status.server}`));
          } else if (status.type === "reconnect") {
            host.logger.info({ server: status.server }, "reconnected to NATS");
            board.reconnected();
          }
        }
      })().catch(() => {});
      let record: MemberRecord | null = null;
      const micro = new MicroResponder({
        nc,
        prefix: resolved.prefix,
        host,
        record: () =>
          record ?? { id: host.nodeId, name: host.nodeName, cluster: host.cluster, gossip: "", addresses: [board.address], labels: { ...host.labels }, services: [], load: 0 },
        logger: host.logger,
      });
      return {
        transports: new Map([["nats", board]]),
        listen: [board.address],
        createLookup(self) {
          record = self;
          return createNatsLookup({
            nc,
            prefix: resolved.prefix,
            self,
            micro,
            logger: host.logger,
            ...(resolved.lookup ? { options: resolved.lookup } : {}),
            onSelf: (updated) => {
              record = updated;
            },
          });
        },
        async close() {
          if (stopped) return;
          stopped = true;
          micro.stop();
          board.close();
          await nc.drain().catch(() => nc.close());
        },
      };
    },
  };
}
