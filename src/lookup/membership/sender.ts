import { SEAL_OVERHEAD, type Sealer } from "./auth.ts";
import { encodePacket, type Body, type GossipEntry, type Packet } from "./codec.ts";
import { retransmitLimit, type MembershipConfig } from "./config.ts";
import type { BroadcastQueue } from "./dissemination.ts";
import type { GossipTransport, MembershipLogger } from "./types.ts";

/** What a {@link PacketSender} needs from its membership. */
export interface SenderOptions {
  config: MembershipConfig;
  cluster: string;
  selfId: string;
  sealer: Sealer;
  transport: GossipTransport;
  queue: BroadcastQueue;
  /** Members alive or suspect, self included: sets how often each broadcast is sent. */
  activeCount: () => number;
  log: MembershipLogger;
  /** Counts each datagram sent. */
  onSent: () => void;
}

/** Builds, seals and sends this node's datagrams, filling probes and gossip with queued broadcasts. */
export class PacketSender {
  readonly #o: SenderOptions;

  constructor(options: SenderOptions) {
    this.#o = options;
  }

  /**
   * Sends `body` with as many broadcasts piggybacked as fit in `limit` bytes
   * (none on anti-entropy exchanges). `lead` goes first, before the queue: news
   * meant for this very receiver (a suspicion sent to the suspect). A bare
   * gossip packet with nothing to carry is not sent; returns whether anything was.
   */
  send(to: string, body: Body, limit = this.#o.config.maxPacketSize, lead?: GossipEntry): boolean {
    const o = this.#o;
    try {
      const packet: Packet = { cluster: o.cluster, sender: o.selfId, body, gossip: lead ? [lead] : [] };
      if (body.type !== "push" && body.type !== "pull" && body.type !== "sync") {
        // The packet's size so far tells how much room is left for broadcasts.
        const room = limit - SEAL_OVERHEAD - encodePacket(packet).length - 3;
        packet.gossip.push(...o.queue.take(room, retransmitLimit(o.config, o.activeCount())));
        if (body.type === "gossip" && packet.gossip.length === 0) return false;
      }
      const bytes = o.sealer.seal(encodePacket(packet));
      if (bytes.length > limit) {
        o.log.warn({ to, size: bytes.length, limit }, "gossip packet too large, not sent");
        return false;
      }
      o.onSent();
      o.transport.send(to, bytes);
      return true;
    } catch (error) {
      o.log.warn({ err: error, to }, "gossip send failed");
      return false;
    }
  }
}
