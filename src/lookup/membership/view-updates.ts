import type { GossipEntry, StateEntry } from "./codec.ts";
import { suspicionBounds, type MembershipConfig } from "./config.ts";
import type { BroadcastQueue } from "./dissemination.ts";
import { expectedConfirmations, Suspicion, type Awareness } from "./probe.ts";
import type { ProbeOrder } from "./probe-order.ts";
import { sameRecord } from "./record.ts";
import type { MemberTable } from "./state.ts";
import type { Clock, Member, MemberRecord, MembershipEvent, MembershipLogger } from "./types.ts";

// A bound on members being checked at once because another view disagrees
// with ours: a healed partition brings thousands; the rest wait for the next exchange.
const MAX_VERIFYING = 256;

/** What {@link ViewUpdates} needs from its membership. */
export interface ViewUpdatesOptions {
  config: MembershipConfig;
  clock: Clock;
  log: MembershipLogger;
  selfId: string;
  cluster: string;
  table: MemberTable;
  queue: BroadcastQueue;
  probeOrder: ProbeOrder;
  awareness: Awareness;
  /** Whether the node still accuses others (running, not leaving). */
  running: () => boolean;
  emit: (events: MembershipEvent[]) => void;
  /** Sends one entry straight to a member's gossip address (leading a gossip packet). */
  tell: (address: string, entry: GossipEntry) => void;
  /** Probes a member now, out of turn; false when too many probes are in flight. */
  probe: (target: Member, on: { onAck?: () => void; onFail: () => void }) => boolean;
  /** Counts a refutation of news about this node. */
  onRefute: () => void;
}

/**
 * Applies news about members — gossip, anti-entropy records, this node's own
 * probes — to the member table, with what follows from it: suspicion timers,
 * broadcasts to pass the news on, refutations of news about this node, and the
 * events listeners hear.
 */
export class ViewUpdates {
  readonly #o: ViewUpdatesOptions;
  readonly #suspicions = new Map<string, Suspicion>();
  readonly #verifying = new Set<string>();

  constructor(options: ViewUpdatesOptions) {
    this.#o = options;
  }

  /** Stops every suspicion timer: the node leaves or stops and accuses no one. */
  cancelSuspicions(): void {
    for (const suspicion of this.#suspicions.values()) suspicion.cancel();
    this.#suspicions.clear();
    this.#verifying.clear();
  }

  /** Queues this node's own record for gossip. */
  broadcastSelf(): void {
    const self = this.#o.table.self;
    this.#o.queue.push(this.#o.selfId, { kind: "alive", incarnation: self.incarnation, record: self.record });
  }

  /** A piggybacked broadcast. */
  applyGossip(entry: GossipEntry): void {
    const o = this.#o;
    if (entry.kind === "alive") {
      if (entry.record.id === o.selfId) return this.#aboutSelf(entry.incarnation, entry.record);
      if (entry.record.cluster === o.cluster) this.#alive(entry.record, entry.incarnation);
      return;
    }
    if (entry.id === o.selfId) return this.#aboutSelf(entry.incarnation);
    if (entry.kind === "suspect") this.suspect(entry.id, entry.incarnation, entry.from);
    else if (entry.kind === "dead") this.#dead(entry.id, entry.incarnation, entry.from);
    else this.left(entry.id, entry.incarnation);
  }

  /**
   * Anti-entropy: another member's records (of some buckets, or all). Where the
   * other view disagrees with ours at the same incarnation — it holds dead a
   * member we hold alive, or alive one we hold suspect or dead — this node
   * probes the member rather than take either view on faith. After a partition
   * each side holds the other dead; taking that as a suspicion would make every
   * member refute, a broadcast to all n each. Probed, a live member is revived
   * where it was held dead and nobody refutes; a dead one fails the probe and is
   * suspected as usual. News at another incarnation goes by the usual rules.
   * News about this node itself is refuted as any: that is how the members
   * cut off by a partition come back.
   */
  merge(sender: string, states: StateEntry[]): void {
    const o = this.#o;
    for (const { state, incarnation, record, age } of states) {
      if (record.id === o.selfId) {
        this.#aboutSelf(incarnation, state === "alive" ? record : undefined);
        continue;
      }
      if (record.cluster !== o.cluster) continue;
      const mine = o.table.get(record.id);
      switch (state) {
        case "alive":
          if (mine && (mine.state === "suspect" || mine.state === "dead") && mine.incarnation === incarnation) this.#verify(mine);
          else this.#alive(record, incarnation);
          break;
        case "suspect":
        case "dead":
          if (!mine) {
            // A member we never knew, already dead: list it as dead (views agree).
            if (state === "dead") {
              this.#learnEnded(record, "dead", incarnation, age ?? 0);
              break;
            }
            this.#alive(record, incarnation);
          } else if (mine.state === "alive" && mine.incarnation === incarnation) {
            this.#verify(mine);
            break;
          }
          // Another view's death at a newer incarnation is only a suspicion here:
          // the member gets its chance to refute.
          this.suspect(record.id, incarnation, sender);
          break;
        case "left":
          if (!mine) this.#learnEnded(record, "left", incarnation, age ?? 0);
          else this.left(record.id, incarnation);
          break;
      }
    }
  }

  /** A suspicion of member `id` at `incarnation`, raised by `from` (this node, after a failed probe, or another). */
  suspect(id: string, incarnation: number, from: string): void {
    const o = this.#o;
    const result = o.table.applySuspect(id, incarnation, o.clock.now());
    if (result === "confirm") {
      const current = o.table.get(id)!;
      // An independent confirmation shortens the timeout; pass it on so others count it too.
      if (this.#suspicions.get(id)?.confirm(from)) {
        o.queue.push(id, { kind: "suspect", id, incarnation: current.incarnation, from });
      }
      return;
    }
    if (result.length === 0) {
      // The sender missed news that ended this member (a leave, a death): tell it
      // again, so that an epidemic that missed someone is corrected at once.
      const member = o.table.get(id);
      if (member && (member.state === "dead" || member.state === "left") && incarnation <= member.incarnation) {
        o.queue.push(id, member.state === "left" ? { kind: "left", id, incarnation: member.incarnation } : { kind: "dead", id, incarnation: member.incarnation, from: o.selfId });
      }
      return;
    }
    const entry: GossipEntry = { kind: "suspect", id, incarnation, from };
    if (o.running()) {
      const n = o.table.activeCount();
      const { min, max } = suspicionBounds(o.config, n);
      const expected = expectedConfirmations(o.config.suspicionMultiplier, n);
      this.#endSuspicion(id);
      this.#suspicions.set(id, new Suspicion(o.clock, { min, max, expected, from, onTimeout: () => this.#suspicionExpired(id) }));
      // Our own probe failed: tell the member at once too (Lifeguard's buddy
      // system). Alive, it refutes before most members have heard the suspicion.
      if (from === o.selfId) o.tell(result[0]!.member.record.gossip, entry);
    }
    o.queue.push(id, entry);
    o.emit(result);
  }

  left(id: string, incarnation: number): void {
    const o = this.#o;
    const events = o.table.applyLeft(id, incarnation, o.clock.now());
    if (events.length === 0) return;
    this.#endSuspicion(id);
    o.queue.push(id, { kind: "left", id, incarnation });
    o.emit(events);
  }

  /**
   * News about this node from others. Anything but an echo of its own record at
   * its own incarnation (a suspicion, a death, a forged record) is refuted by
   * raising the incarnation above it; stale news is ignored.
   */
  #aboutSelf(incarnation: number, record?: MemberRecord): void {
    const o = this.#o;
    if (!o.running()) return;
    const self = o.table.self;
    if (incarnation < self.incarnation) return;
    if (record && incarnation === self.incarnation && sameRecord(record, self.record)) return;
    o.table.setSelf({ incarnation: incarnation + 1 }, o.clock.now());
    this.broadcastSelf();
    o.onRefute();
    // Being suspected is a hint that this node is the slow one.
    o.awareness.apply(1);
    o.log.debug({ incarnation: incarnation + 1 }, "refuted news about this node");
  }

  #alive(record: MemberRecord, incarnation: number): void {
    const o = this.#o;
    const events = o.table.applyAlive(record, incarnation, o.clock.now());
    if (events.length === 0) return;
    for (const event of events) this.#endSuspicion(event.member.record.id);
    o.queue.push(record.id, { kind: "alive", incarnation, record });
    if (events.some((event) => event.type === "join")) o.probeOrder.add(record.id);
    o.emit(events);
  }

  /**
   * Probes a member another view disagrees about. An ack while we still hold it
   * suspect or dead at the same incarnation revives it here, with no broadcast:
   * every view that holds it alive at that incarnation already agrees, and any
   * news of its suspicion still queued here is dropped rather than spread. A
   * failed probe suspects a member held alive, as any failed probe does.
   */
  #verify(member: Member): void {
    const o = this.#o;
    const id = member.record.id;
    if (!o.running() || this.#verifying.has(id) || this.#verifying.size >= MAX_VERIFYING) return;
    const started = o.probe(member, {
      onAck: () => {
        this.#verifying.delete(id);
        const events = o.table.revive(id, member.incarnation, o.clock.now());
        if (events.length === 0) return;
        this.#endSuspicion(id);
        o.queue.drop(id);
        o.emit(events);
      },
      onFail: () => {
        this.#verifying.delete(id);
        if (o.table.get(id)?.state !== "dead") this.suspect(id, member.incarnation, o.selfId);
      },
    });
    if (started) this.#verifying.add(id);
  }

  /**
   * A member that ended before this node heard of it (a newcomer's view). Only
   * if the sender would still keep it: listed until it is as old as
   * `reapInterval`, so it is forgotten here when the older members forget it.
   * Not gossiped: it is old news.
   */
  #learnEnded(record: MemberRecord, state: "dead" | "left", incarnation: number, age: number): void {
    const o = this.#o;
    if (age >= o.config.reapInterval) return;
    o.emit(o.table.applyEnded(record, state, incarnation, o.clock.now() - age));
  }

  #suspicionExpired(id: string): void {
    const o = this.#o;
    this.#suspicions.delete(id);
    const member = o.table.get(id);
    if (!o.running() || member?.state !== "suspect") return;
    o.log.info({ id, name: member.record.name }, "member declared dead");
    this.#dead(id, member.incarnation, o.selfId);
  }

  #dead(id: string, incarnation: number, from: string): void {
    const o = this.#o;
    const events = o.table.applyDead(id, incarnation, o.clock.now());
    if (events.length === 0) return;
    this.#endSuspicion(id);
    o.queue.push(id, { kind: "dead", id, incarnation, from });
    o.emit(events);
  }

  #endSuspicion(id: string): void {
    this.#suspicions.get(id)?.cancel();
    this.#suspicions.delete(id);
  }
}
