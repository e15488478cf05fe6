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
 * event can run over virtual connections carried by NATS messages (see
 * switchboard.ts), with every semantic of the socket transports; events
 * published in a cluster are one message on a subject (events.ts). Look-up
 * speaks the NATS micro protocol, so NATS's tools see the services; unary
 * calls whose strategy leaves the choice of instance to NATS go through the
 * endpoints' queue groups (group-caller.ts).
 */
import type { Engine, EngineGroup, EngineHost, RunningEngine } from "../engine.ts";
import type { LookupBackend } from "../lookup/backend.ts";
import type { MemberRecord } from "../lookup/types.ts";
import { parseVersion, satisfies } from "../rpc/version.ts";
import { GroupCaller } from "./group-caller.ts";
import { GroupServer } from "./group-server.ts";
import { majorOfRange } from "./group-wire.ts";
import { SubjectEvents } from "./events.ts";
import { createNatsLookup } from "./lookup.ts";
import { MicroResponder } from "./micro.ts";
import { connectNats, resolveNatsOptions, type NatsEngineOptions } from "./options.ts";
import { Switchboard } from "./switchboard.ts";

export type { NatsEngineOptions, NatsTlsOptions } from "./options.ts";
export type { NatsLookupOptions } from "./lookup.ts";
import { endpointSubject, QUEUE_GROUP } from "./micro-protocol.ts";
export { MICRO_TYPES, QUEUE_GROUP, endpointSubject, microName, httpStatus } from "./micro-protocol.ts";
export type { MicroEndpointInfo, MicroEndpointStats, MicroIdentity, MicroInfo, MicroStats } from "./micro-protocol.ts";
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
      const caller = new GroupCaller({
        nc,
        prefix: resolved.prefix,
        nodeId: host.nodeId,
        nodeName: host.nodeName,
        limits: host.limits,
        logger: host.logger,
        connected: () => board.connected,
        whenConnected: (timeout) => board.whenConnected(timeout),
        instancesKnown: (service, major) => lookup !== null && instancesOf(lookup, service, major) > 0,
      });
      const server = new GroupServer({ nc, host, logger: host.logger, connected: () => board.connected });
      let lookup: LookupBackend | null = null;
      let stopped = false;
      // Losing the server may lose messages in flight: end every virtual
      // connection so their calls fail now (idempotent ones are retried) and
      // the next calls dial again once the client has reconnected.
      void (async () => {
        for await (const status of nc.status()) {
          if (status.type === "disconnect") {
            host.logger.warn({ server: status.server }, "lost the NATS server; reconnecting");
            const lost = new Error(`lost the NATS server ${status.server}`);
            board.disconnected(lost);
            caller.disconnected(lost);
          } else if (status.type === "reconnect") {
            host.logger.info({ server: status.server }, "reconnected to NATS");
            board.reconnected();
            server.reconnected();
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
        group: server,
      });
      const groups = new Map<string, EngineGroup>();
      const events = new SubjectEvents({
        nc,
        prefix: resolved.prefix,
        cluster: host.cluster,
        nodeId: host.nodeId,
        nodeName: host.nodeName,
        maxDepth: host.limits.maxDepth,
        maxPayload: () => board.maxPayload,
        logger: host.logger,
        deliver: (topic, payload, from) => host.deliverEngineEvent(topic, payload, from),
      });
      return {
        transports: new Map([["nats", board]]),
        listen: [board.address],
        events,
        createLookup(self) {
          record = self;
          lookup = createNatsLookup({
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
          return lookup;
        },
        group(service, range, labels) {
          // Only nodes in the look-up serve the endpoints; a subject names no labels and one major version.
          if (!lookup || (labels && Object.keys(labels).length > 0)) return undefined;
          const major = majorOfRange(range);
          if (major === undefined || !fitsEveryInstance(lookup, service, major, range!)) return undefined;
          const key = `${service}@${major}`;
          let group = groups.get(key);
          if (!group) {
            group = {
              name: `NATS queue group ${QUEUE_GROUP}`,
              address: `nats-subject:${endpointSubject(resolved.prefix, service, `${major}.0.0`, "*")}`,
              invoke: (request) => caller.call(request, major),
            };
            groups.set(key, group);
          }
          return group;
        },
        async close() {
          if (stopped) return;
          stopped = true;
          micro.stop();
          events.close();
          server.close();
          caller.close();
          board.close();
          await nc.drain().catch(() => nc.close());
        },
      };
    },
  };
}

/**
 * Whether every live instance of `service` at `major` that the look-up knows
 * satisfies `range`: NATS hands a call to any subscriber of the subject, so
 * the queue group is used only when any of them would do.
 */
function fitsEveryInstance(lookup: LookupBackend, service: string, major: number, range: string): boolean {
  return instancesOf(lookup, service, major, (version) => !satisfies(version, range)) === 0;
}

/** Live instances of `service` at `major` the look-up knows (those whose version passes `which`). */
function instancesOf(lookup: LookupBackend, service: string, major: number, which: (version: string) => boolean = () => true): number {
  let count = 0;
  for (const member of lookup.members()) {
    if (member.state === "dead" || member.state === "left") continue;
    for (const [name, version] of member.record.services) {
      if (name === service && parseVersion(version)?.[0] === major && which(version)) count++;
    }
  }
  return count;
}
