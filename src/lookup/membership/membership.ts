import { createSealer, SEAL_OVERHEAD, type Sealer } from "./auth.ts";
import { systemClock } from "./clock.ts";
import {
  decodePacket,
  encodePacket,
  packetOverhead,
  type Body,
  type GossipEntry,
  type Packet,
  type StateEntry,
} from "./codec.ts";
import { resolveConfig, retransmitLimit, suspicionBounds, type MembershipConfig } from "./config.ts";
import { bucketOf, idHash, stateClass } from "./digest.ts";
import { BroadcastQueue } from "./dissemination.ts";
import { Awareness, expectedConfirmations, Suspicion } from "./probe.ts";
import { ProbeOrder } from "./probe-order.ts";
import { checkOwnRecord, statesForExchange } from "./own-state.ts";
import { MemberTable, sameRecord } from "./state.ts";
import { TimerSet } from "./timers.ts";
import type {
  Clock,
  GossipTransport,
  Member,
  MemberRecord,
  Membership,
  MembershipEvent,
  MembershipLogger,
  MembershipOptions,
  MembershipStats,
  MemberUpdate,
} from "./types.ts";

export type { Membership, MembershipOptions, MembershipStats, MemberUpdate } from "./types.ts";

/** Creates a membership for `self`; nothing is sent before `start`. */
export function createMembership(options: MembershipOptions): Membership {
  return new GossipMembership(options);
}

type Status = "new" | "running" | "leaving" | "stopped";

interface AckWaiter {
  ack(): void;
  nack(): void;
}

// A bound on probes relayed for others at once: a flood of ping-reqs costs a
// little traffic, never unbounded memory.
const MAX_WAITERS = 1024;
// Anti-entropy exchanges this node started and may still complete (the third
// leg answers only these, so a forged reply cannot make a node send its view).
const MAX_EXCHANGES = 64;

const noLogger: MembershipLogger = { debug() {}, info() {}, warn() {} };

/**
 * SWIM with the Lifeguard refinements:
 *
 * - each round, probe one member (round-robin over a shuffled list): ping, and
 *   without an ack in time, ask `indirectChecks` others to ping it (a bad link
 *   between two nodes does not make either look dead);
 * - no ack at all: suspect it, and declare it dead when the suspicion times out
 *   (shorter with more independent suspicions); a suspected member refutes by
 *   raising its incarnation;
 * - news travels piggybacked on probes and on gossip rounds, a limited number of
 *   times each; an anti-entropy exchange now and then repairs what gossip
 *   missed: digests first, then only the records of the buckets that differ;
 * - a node that misses acks and nacks stretches its own timeouts (local health).
 */
class GossipMembership implements Membership {
  readonly #config: MembershipConfig;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #transport: GossipTransport;
  readonly #sealer: Sealer;
  readonly #log: MembershipLogger;
  readonly #selfId: string;
  readonly #cluster: string;
  readonly #table: MemberTable;
  readonly #probeOrder: ProbeOrder;
  readonly #queue = new BroadcastQueue();
  readonly #awareness: Awareness;
  readonly #suspicions = new Map<string, Suspicion>();
  readonly #waiters = new Map<number, AckWaiter>();
  readonly #timers: TimerSet;
  readonly #listeners = new Set<(event: MembershipEvent) => void>();
  readonly #joinWaiters: Array<() => void> = [];
  readonly #overhead: number;
  readonly #selfBucket: number;
  /** Seq → when, of the exchanges this node started. */
  readonly #exchanges = new Map<number, number>();
  readonly #stats = { sent: 0, received: 0, dropped: 0, refuted: 0 };
  #status: Status = "new";
  #seeds: string[] = [];
  #seq = 0;
  #lastRepair = Number.NEGATIVE_INFINITY;
  #leaving: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: MembershipOptions) {
    this.#config = resolveConfig(options.config);
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#transport = options.transport;
    this.#sealer = createSealer(options.key);
    this.#log = options.logger ?? noLogger;
    this.#timers = new TimerSet(this.#clock, this.#log);
    const self = checkOwnRecord(this.#config, { ...options.self, started: options.self.started ?? this.#clock.now() });
    this.#selfId = self.id;
    this.#cluster = self.cluster;
    this.#overhead = packetOverhead(self.cluster, self.id) + SEAL_OVERHEAD;
    this.#selfBucket = bucketOf(idHash(self.id));
    this.#table = new MemberTable(self, this.#clock.now());
    if (options.knownMembers) this.#table.preload(options.knownMembers, this.#clock.now());
    this.#probeOrder = new ProbeOrder(this.#table, self.id, this.#random);
    this.#awareness = new Awareness(this.#config.awarenessMaxMultiplier);
  }

  get self(): Member {
    return this.#table.self;
  }

  async start(seeds: string[] = []): Promise<void> {
    if (this.#status !== "new") throw new Error("this membership was already started");
    this.#status = "running";
    this.#transport.onMessage((from, bytes) => this.#receive(from, bytes));
    this.#broadcastSelf();
    const config = this.#config;
    // Random first offsets keep the nodes of a cluster from probing in lockstep.
    this.#timers.after(this.#random() * config.probeInterval, () => this.#probeTick());
    this.#timers.after(this.#random() * config.gossipInterval, () => this.#gossipTick());
    this.#timers.after(config.pushPullInterval * (0.5 + this.#random()), () => this.#pushPullTick());
    this.#timers.after(this.#reapEvery(), () => this.#reapTick());
    this.#seeds = [...new Set(seeds)].filter((seed) => seed !== this.#transport.address);
    if (this.#seeds.length === 0) return;
    this.#timers.after(config.joinRetryInterval, () => this.#joinTick());
    const answered = new Promise<void>((resolve) => {
      this.#joinWaiters.push(resolve);
      this.#timers.after(config.joinTimeout, resolve);
    });
    this.#pushTo(this.#seeds, true);
    await answered;
  }

  members(): Member[] {
    return this.#table.members();
  }

  get(id: string): Member | undefined {
    return this.#table.get(id);
  }

  update(change: MemberUpdate): void {
    if (this.#status === "leaving" || this.#status === "stopped") return;
    const current = this.#table.self;
    const record: MemberRecord = { ...current.record };
    if (change.services !== undefined) record.services = change.services;
    if (change.load !== undefined) record.load = change.load;
    if (change.labels !== undefined) record.labels = change.labels;
    if (change.addresses !== undefined) record.addresses = change.addresses;
    const checked = checkOwnRecord(this.#config, record);
    const self = this.#table.setSelf({ record: checked, incarnation: current.incarnation + 1 }, this.#clock.now());
    if (this.#status === "running") this.#broadcastSelf();
    this.#emit([{ type: "update", member: self }]);
  }

  on(listener: (event: MembershipEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  leave(timeoutMs: number = this.#config.leaveTimeout): Promise<void> {
    if (this.#leaving) return this.#leaving;
    if (this.#status !== "running") return this.stop();
    this.#status = "leaving";
    // From now on this node accuses no one: it only passes on its goodbye.
    for (const suspicion of this.#suspicions.values()) suspicion.cancel();
    this.#suspicions.clear();
    const self = this.#table.setSelf({ state: "left" }, this.#clock.now());
    this.#emit([{ type: "left", member: self }]);
    // Stop as soon as the goodbye is out, not a turn of the event loop later: a
    // simulated clock runs timers without yielding to promise callbacks.
    this.#leaving = new Promise<void>((resolve) => {
      const finish = (): void => resolve(this.stop());
      if (!this.#table.hasActiveOthers()) return finish();
      // Called from inside a send: let that last packet go out before stopping.
      const sent = (): void => void this.#clock.setTimer(0, finish);
      this.#queue.push(this.#selfId, { kind: "left", id: this.#selfId, incarnation: self.incarnation }, sent);
      this.#timers.after(timeoutMs, finish);
      // If every other member leaves too, nobody is left to take the goodbye:
      // stop then rather than wait out the whole timeout.
      const checkAlone = (): void => {
        if (this.#status !== "leaving") return;
        if (!this.#table.hasActiveOthers()) finish();
        else this.#timers.after(this.#config.gossipInterval, checkAlone);
      };
      this.#timers.after(this.#config.gossipInterval, checkAlone);
      this.#gossipRound();
    });
    return this.#leaving;
  }

  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#status = "stopped";
    this.#stopping = this.#transport.close().catch((error: unknown) => {
      this.#log.warn({ err: error }, "closing the gossip transport failed");
    });
    this.#timers.cancelAll();
    for (const suspicion of this.#suspicions.values()) suspicion.cancel();
    this.#suspicions.clear();
    this.#waiters.clear();
    this.#exchanges.clear();
    this.#queue.clear();
    for (const resolve of this.#joinWaiters.splice(0)) resolve();
    return this.#stopping;
  }

  stats(): MembershipStats {
    return { ...this.#stats, awareness: this.#awareness.score, active: this.#table.activeCount() };
  }

  // ---- receiving ----------------------------------------------------------

  #receive(from: string, bytes: Uint8Array): void {
    if (this.#status !== "running" && this.#status !== "leaving") return;
    this.#stats.received++;
    try {
      if (!(bytes instanceof Uint8Array) || bytes.length > this.#config.maxPushPullSize + SEAL_OVERHEAD) {
        return this.#drop(from, "oversized datagram");
      }
      const message = this.#sealer.open(bytes);
      if (!message) return this.#drop(from, "datagram not sealed with this cluster's key");
      const packet = decodePacket(message);
      if (packet.cluster !== this.#cluster) return this.#drop(from, `datagram of cluster "${packet.cluster}"`);
      if (packet.sender === this.#selfId) return this.#drop(from, "datagram from this node's own id");
      this.#handle(from, packet);
    } catch (error) {
      this.#drop(from, (error as Error)?.message ?? "bad datagram");
    }
  }

  #drop(from: string, reason: string): void {
    this.#stats.dropped++;
    this.#log.debug({ from, reason }, "gossip datagram dropped");
  }

  #handle(from: string, packet: Packet): void {
    const body = packet.body;
    // A probe or gossip from a member we do not know (gossip missed its join: an
    // epidemic misses a few members now and then), or hold dead (a partition
    // healed: it holds us dead too, most likely). A digest exchange with it
    // repairs that now rather than at the next anti-entropy round. (An
    // exchange it started brings its records anyway.)
    const exchange = body.type === "push" || body.type === "pull" || body.type === "sync";
    if (!exchange && this.#status === "running" && (!this.#table.knows(packet.sender) || this.#table.get(packet.sender)?.state === "dead")) {
      const now = this.#clock.now();
      if (now - this.#lastRepair >= this.#config.probeInterval) {
        this.#lastRepair = now;
        this.#pushTo([from], false);
      }
    }
    switch (body.type) {
      case "ping":
        // A restarted process at the same address must not answer for the old id.
        if (body.target === this.#selfId) this.#send(from, { type: "ack", seq: body.seq });
        break;
      case "ping-req":
        this.#relayProbe(from, body.seq, body.target, body.address);
        break;
      case "ack":
        this.#waiters.get(body.seq)?.ack();
        break;
      case "nack":
        this.#waiters.get(body.seq)?.nack();
        break;
      case "push": {
        // A digest: answer with our records of the buckets that differ, and ask
        // for the initiator's. Equal views exchange nothing more.
        const want = this.#table.differingBuckets(body.digest);
        const states = want.length === 0 ? [] : this.#states(new Set(want), null, 3 + want.length);
        this.#send(from, { type: "pull", seq: body.seq, states, want }, this.#config.maxPushPullSize);
        break;
      }
      case "pull": {
        const before = this.#table.self.incarnation;
        this.#merge(packet.sender, body.states);
        for (const resolve of this.#joinWaiters.splice(0)) resolve();
        if (!this.#exchanges.delete(body.seq)) break;
        const buckets = new Set(body.want);
        // A refutation caused by the merge goes back at once.
        if (this.#table.self.incarnation !== before) buckets.add(this.#selfBucket);
        if (buckets.size === 0) break;
        // What the responder just sent, it holds: only the rest goes back (a
        // newcomer does not echo the whole view it was just given).
        const held = new Map(body.states.map((entry) => [entry.record.id, entry]));
        const states = this.#states(buckets, held, 0);
        if (states.length > 0) this.#send(from, { type: "sync", seq: body.seq, states }, this.#config.maxPushPullSize);
        break;
      }
      case "sync":
        this.#merge(packet.sender, body.states);
        break;
      case "gossip":
        break;
    }
    for (const entry of packet.gossip) this.#applyGossip(entry);
  }

  #applyGossip(entry: GossipEntry): void {
    if (entry.kind === "alive") {
      if (entry.record.id === this.#selfId) return this.#aboutSelf(entry.incarnation, entry.record);
      if (entry.record.cluster === this.#cluster) this.#alive(entry.record, entry.incarnation);
      return;
    }
    if (entry.id === this.#selfId) return this.#aboutSelf(entry.incarnation);
    if (entry.kind === "suspect") this.#suspect(entry.id, entry.incarnation, entry.from);
    else if (entry.kind === "dead") this.#dead(entry.id, entry.incarnation, entry.from);
    else this.#left(entry.id, entry.incarnation);
  }

  /** Anti-entropy: another member's records (of some buckets, or all). */
  #merge(sender: string, states: StateEntry[]): void {
    for (const { state, incarnation, record, age } of states) {
      if (record.id === this.#selfId) {
        this.#aboutSelf(incarnation, state === "alive" ? record : undefined);
        continue;
      }
      if (record.cluster !== this.#cluster) continue;
      switch (state) {
        case "alive":
          this.#alive(record, incarnation);
          break;
        case "suspect":
        case "dead":
          // Another view's death is only a suspicion here: the member gets its
          // chance to refute, which is how two halves of a healed partition meet.
          if (!this.#table.get(record.id)) {
            // A member we never knew, already dead: list it as dead (views agree).
            if (state === "dead") {
              this.#learnEnded(record, "dead", incarnation, age ?? 0);
              break;
            }
            this.#alive(record, incarnation);
          }
          this.#suspect(record.id, incarnation, sender);
          break;
        case "left":
          if (!this.#table.get(record.id)) this.#learnEnded(record, "left", incarnation, age ?? 0);
          else this.#left(record.id, incarnation);
          break;
      }
    }
  }

  /**
   * News about this node from others. Anything but an echo of its own record at
   * its own incarnation (a suspicion, a death, a forged record) is refuted by
   * raising the incarnation above it; stale news is ignored.
   */
  #aboutSelf(incarnation: number, record?: MemberRecord): void {
    if (this.#status !== "running") return;
    const self = this.#table.self;
    if (incarnation < self.incarnation) return;
    if (record && incarnation === self.incarnation && sameRecord(record, self.record)) return;
    this.#table.setSelf({ incarnation: incarnation + 1 }, this.#clock.now());
    this.#broadcastSelf();
    this.#stats.refuted++;
    // Being suspected is a hint that this node is the slow one.
    this.#awareness.apply(1);
    this.#log.debug({ incarnation: incarnation + 1 }, "refuted news about this node");
  }

  #alive(record: MemberRecord, incarnation: number): void {
    const events = this.#table.applyAlive(record, incarnation, this.#clock.now());
    if (events.length === 0) return;
    for (const event of events) this.#endSuspicion(event.member.record.id);
    this.#queue.push(record.id, { kind: "alive", incarnation, record });
    const joined = events.find((event) => event.type === "join");
    if (joined) this.#probeOrder.add(record.id);
    this.#emit(events);
  }

  /**
   * A member that ended before this node heard of it (a newcomer's view). Only
   * if the sender would still keep it: listed until it is as old as
   * `reapInterval`, so it is forgotten here when the older members forget it.
   * Not gossiped: it is old news.
   */
  #learnEnded(record: MemberRecord, state: "dead" | "left", incarnation: number, age: number): void {
    if (age >= this.#config.reapInterval) return;
    this.#emit(this.#table.applyEnded(record, state, incarnation, this.#clock.now() - age));
  }

  #suspect(id: string, incarnation: number, from: string): void {
    const result = this.#table.applySuspect(id, incarnation, this.#clock.now());
    if (result === "confirm") {
      const current = this.#table.get(id)!;
      // An independent confirmation shortens the timeout; pass it on so others count it too.
      if (this.#suspicions.get(id)?.confirm(from)) {
        this.#queue.push(id, { kind: "suspect", id, incarnation: current.incarnation, from });
      }
      return;
    }
    if (result.length === 0) {
      // The sender missed news that ended this member (a leave, a death): tell it
      // again, so that an epidemic that missed someone is corrected at once.
      const member = this.#table.get(id);
      if (member && (member.state === "dead" || member.state === "left") && incarnation <= member.incarnation) {
        this.#queue.push(id, member.state === "left" ? { kind: "left", id, incarnation: member.incarnation } : { kind: "dead", id, incarnation: member.incarnation, from: this.#selfId });
      }
      return;
    }
    if (this.#status === "running") {
      const n = this.#table.activeCount();
      const { min, max } = suspicionBounds(this.#config, n);
      const expected = expectedConfirmations(this.#config.suspicionMultiplier, n);
      this.#endSuspicion(id);
      this.#suspicions.set(id, new Suspicion(this.#clock, { min, max, expected, from, onTimeout: () => this.#suspicionExpired(id) }));
    }
    this.#queue.push(id, { kind: "suspect", id, incarnation, from });
    this.#emit(result);
  }

  #suspicionExpired(id: string): void {
    this.#suspicions.delete(id);
    const member = this.#table.get(id);
    if (this.#status !== "running" || member?.state !== "suspect") return;
    this.#log.info({ id, name: member.record.name }, "member declared dead");
    this.#dead(id, member.incarnation, this.#selfId);
  }

  #dead(id: string, incarnation: number, from: string): void {
    const events = this.#table.applyDead(id, incarnation, this.#clock.now());
    if (events.length === 0) return;
    this.#endSuspicion(id);
    this.#queue.push(id, { kind: "dead", id, incarnation, from });
    this.#emit(events);
  }

  #left(id: string, incarnation: number): void {
    const events = this.#table.applyLeft(id, incarnation, this.#clock.now());
    if (events.length === 0) return;
    this.#endSuspicion(id);
    this.#queue.push(id, { kind: "left", id, incarnation });
    this.#emit(events);
  }

  #endSuspicion(id: string): void {
    this.#suspicions.get(id)?.cancel();
    this.#suspicions.delete(id);
  }

  // ---- probing ------------------------------------------------------------

  #probeTick(): void {
    if (this.#status !== "running") return;
    const multiplier = this.#awareness.multiplier;
    const target = this.#probeOrder.next();
    // A copy: the probe judges the member as it was when the probe began.
    if (target) this.#probe({ ...target }, multiplier);
    this.#timers.after(this.#config.probeInterval * multiplier, () => this.#probeTick());
  }

  #probe(target: Member, multiplier: number): void {
    const seq = this.#nextSeq();
    let acked = false;
    let direct = true;
    let nacks = 0;
    let expectedNacks = 0;
    const finish = (): void => {
      this.#waiters.delete(seq);
      cancelIndirect();
      cancelEnd();
      if (acked) {
        this.#awareness.apply(direct ? -1 : 0);
        return;
      }
      // No ack. Missing nacks mean the helpers could not reach us either: our fault
      // more likely than the target's, so stretch our own timeouts.
      this.#awareness.apply(expectedNacks > 0 ? expectedNacks - Math.min(nacks, expectedNacks) : 1);
      if (this.#status !== "running") return;
      // At the incarnation the probe began with: a refutation since then wins.
      this.#suspect(target.record.id, target.incarnation, this.#selfId);
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
    const cancelIndirect = this.#timers.after(this.#config.probeTimeout * multiplier, () => {
      if (acked) return;
      direct = false;
      const helpers = this.#table.pick(["alive"], this.#config.indirectChecks, this.#random, target.record.id);
      expectedNacks = helpers.length;
      for (const helper of helpers) {
        this.#send(helper.record.gossip, { type: "ping-req", seq, target: target.record.id, address: target.record.gossip });
      }
      // And a second direct ping (memberlist falls back to TCP here): on a lossy
      // network a lone lost ping or ack is the usual cause of a failed probe, and
      // every false suspicion costs a broadcast and a refutation to all n members.
      this.#send(target.record.gossip, { type: "ping", seq, target: target.record.id });
    });
    const cancelEnd = this.#timers.after(this.#config.probeInterval * multiplier, finish);
    this.#send(target.record.gossip, { type: "ping", seq, target: target.record.id });
  }

  /** Pings `target` for another member; answers it with an ack, or a nack when none came in time. */
  #relayProbe(requester: string, seq: number, target: string, address: string): void {
    if (target === this.#selfId) {
      this.#send(requester, { type: "ack", seq });
      return;
    }
    if (this.#waiters.size >= MAX_WAITERS) return;
    const local = this.#nextSeq();
    let settled = false;
    const cancel = this.#timers.after(this.#config.probeTimeout * this.#awareness.multiplier, () => {
      if (settled) return;
      settled = true;
      this.#waiters.delete(local);
      this.#send(requester, { type: "nack", seq });
    });
    this.#waiters.set(local, {
      ack: () => {
        if (settled) return;
        settled = true;
        cancel();
        this.#waiters.delete(local);
        this.#send(requester, { type: "ack", seq });
      },
      nack: () => {},
    });
    this.#send(address, { type: "ping", seq: local, target });
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  // ---- gossip and anti-entropy --------------------------------------------

  #gossipTick(): void {
    if (this.#status === "stopped") return;
    this.#gossipRound();
    this.#timers.after(this.#config.gossipInterval, () => this.#gossipTick());
  }

  #gossipRound(): void {
    if (this.#queue.size === 0) return;
    const now = this.#clock.now();
    const recent = (member: Member): boolean => member.state !== "dead" || now - member.since < this.#config.gossipToTheDead;
    // Addresses first: the live views change as the sends' news is applied.
    const targets = this.#table.pick(["alive", "suspect", "dead"], this.#config.gossipNodes, this.#random, undefined, recent).map((m) => m.record.gossip);
    for (const target of targets) {
      if (!this.#send(target, { type: "gossip" })) break;
    }
  }

  #pushPullTick(): void {
    if (this.#status !== "running") return;
    const alive = this.#table.pick(["alive"], 1, this.#random);
    // One dead member too: if it is only cut off, this is how it hears of us again.
    const dead = this.#table.pick(["dead"], 1, this.#random);
    this.#pushTo([...alive, ...dead].map((member) => member.record.gossip), false);
    // Not stretched with n (memberlist stretches its full-state exchange beyond 32
    // members): equal views exchange a digest only, a few hundred bytes whatever
    // n, and the exchanges with dead members are what heals a partition.
    this.#timers.after(this.#config.pushPullInterval, () => this.#pushPullTick());
  }

  #joinTick(): void {
    if (this.#status !== "running") return;
    if (!this.#table.hasActiveOthers()) this.#pushTo(this.#seeds, true);
    this.#timers.after(this.#config.joinRetryInterval, () => this.#joinTick());
  }

  /** Starts an anti-entropy exchange with each of `addresses`: our digest, a few hundred bytes. */
  #pushTo(addresses: string[], join: boolean): void {
    if (addresses.length === 0) return;
    const digest = this.#table.digest();
    for (const address of addresses) {
      const seq = this.#nextSeq();
      this.#exchanges.set(seq, this.#clock.now());
      // Oldest first out: an exchange whose answer never came is forgotten.
      if (this.#exchanges.size > MAX_EXCHANGES) this.#exchanges.delete(this.#exchanges.keys().next().value!);
      this.#send(address, { type: "push", join, seq, digest }, this.#config.maxPushPullSize);
    }
  }

  /**
   * Our records of `buckets`, cut to fit one anti-entropy datagram (`extra`
   * bytes are kept for the rest of the body), leaving out those `held` shows the
   * peer holds at the same version, and ended members about to be reaped.
   */
  #states(buckets: ReadonlySet<number>, held: ReadonlyMap<string, StateEntry> | null, extra: number): StateEntry[] {
    const now = this.#clock.now();
    const reap = this.#config.reapInterval;
    const members = this.#table.inBuckets(buckets).filter((member) => {
      if ((member.state === "dead" || member.state === "left") && now - member.since >= reap) return false;
      const theirs = held?.get(member.record.id);
      return !theirs || theirs.incarnation !== member.incarnation || stateClass(theirs.state) !== stateClass(member.state);
    });
    return statesForExchange(members, this.#selfId, now, this.#random, this.#config.maxPushPullSize - this.#overhead - extra);
  }

  #reapTick(): void {
    if (this.#status !== "running") return;
    const gone = this.#table.reap(this.#clock.now(), this.#config.reapInterval);
    if (gone.length > 0) this.#log.debug({ ids: gone }, "forgot dead and left members");
    this.#timers.after(this.#reapEvery(), () => this.#reapTick());
  }

  // Often enough that members end within a few minutes of each other everywhere
  // (their digests differ meanwhile); cheap: only ended members are looked at.
  #reapEvery(): number {
    return Math.max(this.#config.probeInterval, this.#config.reapInterval / 20);
  }

  // ---- sending ------------------------------------------------------------

  #broadcastSelf(): void {
    const self = this.#table.self;
    this.#queue.push(this.#selfId, { kind: "alive", incarnation: self.incarnation, record: self.record });
  }

  /**
   * Sends `body` with as many broadcasts piggybacked as fit in `limit` bytes (none
   * on anti-entropy exchanges). A bare gossip packet with nothing to carry is not
   * sent; returns whether anything was.
   */
  #send(to: string, body: Body, limit = this.#config.maxPacketSize): boolean {
    try {
      const packet: Packet = { cluster: this.#cluster, sender: this.#selfId, body, gossip: [] };
      if (body.type !== "push" && body.type !== "pull" && body.type !== "sync") {
        // The bare packet's size tells how much room is left for broadcasts.
        const room = limit - SEAL_OVERHEAD - encodePacket(packet).length - 3;
        packet.gossip = this.#queue.take(room, retransmitLimit(this.#config, this.#table.activeCount()));
        if (body.type === "gossip" && packet.gossip.length === 0) return false;
      }
      const bytes = this.#sealer.seal(encodePacket(packet));
      if (bytes.length > limit) {
        this.#log.warn({ to, size: bytes.length, limit }, "gossip packet too large, not sent");
        return false;
      }
      this.#stats.sent++;
      this.#transport.send(to, bytes);
      return true;
    } catch (error) {
      this.#log.warn({ err: error, to }, "gossip send failed");
      return false;
    }
  }

  // ---- helpers ------------------------------------------------------------

  #emit(events: MembershipEvent[]): void {
    for (const event of events) {
      for (const listener of [...this.#listeners]) {
        try {
          listener(event);
        } catch (error) {
          this.#log.warn({ err: error, event: event.type }, "membership listener threw");
        }
      }
    }
  }

}
