import type { Body, GossipEntry } from "./codec.ts";
import type { MembershipConfig } from "./config.ts";
import type { Awareness } from "./probe.ts";
import type { MemberTable } from "./state.ts";
import type { TimerSet } from "./timers.ts";
import type { Member } from "./types.ts";

interface AckWaiter {
  ack(): void;
  nack(): void;
}

// A bound on probes waiting for an answer, those relayed for others included: a
// flood of ping-reqs costs a little traffic, never unbounded memory.
const MAX_WAITERS = 1024;

/** What a {@link Prober} needs from its membership. */
export interface ProberOptions {
  config: MembershipConfig;
  selfId: string;
  table: MemberTable;
  awareness: Awareness;
  timers: TimerSet;
  random: () => number;
  nextSeq: () => number;
  /** Sends a packet; `lead` goes first among its broadcasts. */
  send: (to: string, body: Body, lead?: GossipEntry) => void;
  /** Whether the node still accuses others (running, not leaving). */
  running: () => boolean;
}

/**
 * Probes members and answers probes relayed for others. A probe pings the
 * member; without an ack within `probeTimeout` it asks `indirectChecks` others
 * to ping it and pings it twice more itself; no ack by the end of the round and
 * the member is reported as failed. Acks and nacks are matched by sequence.
 */
export class Prober {
  readonly #o: ProberOptions;
  readonly #waiters = new Map<number, AckWaiter>();

  constructor(options: ProberOptions) {
    this.#o = options;
  }

  ack(seq: number): void {
    this.#waiters.get(seq)?.ack();
  }

  nack(seq: number): void {
    this.#waiters.get(seq)?.nack();
  }

  /** Forgets every probe in flight (the node stops). */
  clear(): void {
    this.#waiters.clear();
  }

  /**
   * Probes `target` (a copy: the probe judges the member as it was when the
   * probe began), with timeouts stretched by `multiplier`. Calls `onAck` on an
   * ack, or `onFail` at the end of the round without one. A ping to a suspect
   * carries the suspicion first (Lifeguard's buddy system): a live member hears
   * of it at once and refutes, rather than when gossip gets to it.
   * Returns false when too many probes are in flight to start one.
   */
  probe(target: Member, multiplier: number, on: { onAck?: () => void; onFail: () => void }): boolean {
    const o = this.#o;
    if (this.#waiters.size >= MAX_WAITERS) return false;
    const seq = o.nextSeq();
    const id = target.record.id;
    const address = target.record.gossip;
    const buddy: GossipEntry | undefined = target.state === "suspect" ? { kind: "suspect", id, incarnation: target.incarnation, from: o.selfId } : undefined;
    const ping = (): void => o.send(address, { type: "ping", seq, target: id }, buddy);
    let acked = false;
    let direct = true;
    let nacks = 0;
    let expectedNacks = 0;
    const cancels: Array<() => void> = [];
    const finish = (): void => {
      this.#waiters.delete(seq);
      for (const cancel of cancels) cancel();
      if (acked) {
        o.awareness.apply(direct ? -1 : 0);
        on.onAck?.();
        return;
      }
      // No ack. Missing nacks mean the helpers could not reach us either: our fault
      // more likely than the target's, so stretch our own timeouts.
      o.awareness.apply(expectedNacks > 0 ? expectedNacks - Math.min(nacks, expectedNacks) : 1);
      if (o.running()) on.onFail();
    };
    this.#waiters.set(seq, {
      ack: () => {
        if (acked) return;
        acked = true;
        if (direct) finish();
      },
      nack: () => {
        nacks++;
      },
    });
    const timeout = o.config.probeTimeout * multiplier;
    const round = o.config.probeInterval * multiplier;
    cancels.push(
      o.timers.after(timeout, () => {
        if (acked) return;
        direct = false;
        const helpers = o.table.pick(["alive"], o.config.indirectChecks, o.random, id);
        expectedNacks = helpers.length;
        for (const helper of helpers) o.send(helper.record.gossip, { type: "ping-req", seq, target: id, address });
        // And a second direct ping (memberlist falls back to TCP here): on a lossy
        // network a lone lost ping or ack is the usual cause of a failed probe, and
        // every false suspicion costs a broadcast and a refutation to all n members.
        ping();
        // A third, half-way through what is left of the round, as a stream would
        // resend a lost segment: each retry divides the odds of a false suspicion
        // under loss by about ten, at the cost of one datagram on the few probes
        // that got this far.
        cancels.push(
          o.timers.after((round - timeout) / 2, () => {
            if (!acked) ping();
          }),
        );
      }),
      o.timers.after(round, finish),
    );
    ping();
    return true;
  }

  /** Pings `target` for another member; answers it with an ack, or a nack when none came in time. */
  relay(requester: string, seq: number, target: string, address: string): void {
    const o = this.#o;
    if (target === o.selfId) {
      o.send(requester, { type: "ack", seq });
      return;
    }
    if (this.#waiters.size >= MAX_WAITERS) return;
    const local = o.nextSeq();
    let settled = false;
    const cancel = o.timers.after(o.config.probeTimeout * o.awareness.multiplier, () => {
      if (settled) return;
      settled = true;
      this.#waiters.delete(local);
      o.send(requester, { type: "nack", seq });
    });
    this.#waiters.set(local, {
      ack: () => {
        if (settled) return;
        settled = true;
        cancel();
        this.#waiters.delete(local);
        o.send(requester, { type: "ack", seq });
      },
      nack: () => {},
    });
    o.send(address, { type: "ping", seq: local, target });
  }
}
