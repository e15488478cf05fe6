/**
 * Events across a cluster. A node advertises the topics it subscribes to in
 * its member record (the `amoeba.topics` label, a comma-separated list), so
 * the look-up tells every node who wants what. `publish` sends the event once
 * to each member that subscribes: over a connection it already has, else over
 * one it dials for it (the events wait for the dial, a bounded few per member).
 *
 * Delivery is at most once: an event to a member whose connection is lost or
 * cannot be made, or past the wait queue, is dropped, never sent twice; events
 * from one publisher to one subscriber arrive in order. Events stay in the
 * cluster: they do not cross gateways.
 *
 * @module
 */
import { FrameKind } from "../wire/index.ts";
import type { Session } from "../rpc/session.ts";
import { reachableAddress } from "./reachable.ts";
import type { Member } from "./types.ts";

/** The label that lists the topics a member subscribes to. */
export const TOPICS_LABEL = "amoeba.topics";

/** Events held for one member while its connection is dialed. */
const MAX_WAITING = 1_000;

/** What the fan-out needs of its node. */
export interface FanoutHost {
  readonly nodeId: string;
  /** This node's `host` label, to prefer a Unix socket on the same host. */
  hostLabel(): string | undefined;
  /** The node's connections to other nodes (not its in-process ones). */
  remoteSessions(): Iterable<Session>;
  /** The members its look-up knows, or none without a look-up. */
  members(): Member[];
  /** A live session to `address`, dialing when there is none. */
  session(address: string): Promise<Session>;
  /** Reports an event that could not be delivered (logged at debug: events are fire-and-forget). */
  dropped(topic: string, member: string, why: string): void;
}

/** The topics of a member record's label. */
export function topicsOf(labels: Readonly<Record<string, string>>): string[] {
  const text = labels[TOPICS_LABEL];
  return text ? text.split(",").filter((topic) => topic !== "") : [];
}

/** The label value for `topics`; undefined (no label) when there are none. Topics with a comma are sent only over connections. */
export function topicsLabel(topics: readonly string[]): string | undefined {
  const listed = topics.filter((topic) => !topic.includes(",")).sort();
  return listed.length > 0 ? listed.join(",") : undefined;
}

/** A node's cluster-wide publishing. */
export class EventFanout {
  readonly #host: FanoutHost;
  /** Events waiting for a dial, by member id. */
  readonly #waiting = new Map<string, Array<[string, unknown]>>();

  constructor(host: FanoutHost) {
    this.#host = host;
  }

  /**
   * Sends `payload` on `topic` to every other node that subscribes to it, once
   * each; not to the nodes `reachedElsewhere` says have it already (by the
   * engine's own fan-out, judged by their addresses and cluster), neither by
   * record nor over a connection.
   */
  publish(topic: string, payload: unknown, reachedElsewhere?: (addresses: readonly string[], cluster: string | undefined) => boolean): void {
    const host = this.#host;
    const reached = new Set<string>();
    if (reachedElsewhere) {
      for (const { record } of host.members()) if (reachedElsewhere(record.addresses, record.cluster)) reached.add(record.id);
      for (const session of host.remoteSessions()) {
        const remote = session.remoteInfo;
        if (reachedElsewhere([remote.address], remote.cluster)) reached.add(remote.id);
      }
    }
    // Connected nodes that told us on the connection they subscribe.
    for (const session of host.remoteSessions()) {
      if (!session.usable || !session.remoteTopics.has(topic)) continue;
      const id = session.remoteInfo.id;
      if (reached.has(id)) continue;
      reached.add(id);
      session.publish(topic, payload);
    }
    // Members of the cluster that say in their record they subscribe.
    for (const member of host.members()) {
      const id = member.record.id;
      if (id === host.nodeId || reached.has(id) || (member.state !== "alive" && member.state !== "suspect")) continue;
      if (!topicsOf(member.record.labels).includes(topic)) continue;
      reached.add(id);
      this.#sendTo(member, topic, payload);
    }
  }

  #sendTo(member: Member, topic: string, payload: unknown): void {
    const id = member.record.id;
    const waiting = this.#waiting.get(id);
    if (waiting) {
      if (waiting.length < MAX_WAITING) waiting.push([topic, payload]);
      else this.#host.dropped(topic, member.record.name, `over ${MAX_WAITING} events wait for its connection`);
      return;
    }
    const address = reachableAddress(member.record, this.#host.hostLabel());
    if (address === undefined) {
      this.#host.dropped(topic, member.record.name, "it lists no address");
      return;
    }
    const queue: Array<[string, unknown]> = [[topic, payload]];
    this.#waiting.set(id, queue);
    this.#host.session(address).then(
      (session) => {
        this.#waiting.delete(id);
        // The record says it subscribes; the connection's own SUBSCRIBE may still be on its way.
        for (const [each, body] of queue) session.send(FrameKind.Event, 0, [each, body]);
      },
      (error: unknown) => {
        this.#waiting.delete(id);
        for (const [each] of queue) this.#host.dropped(each, member.record.name, (error as Error)?.message ?? String(error));
      },
    );
  }
}
