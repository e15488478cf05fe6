import { AntiEntropy } from "./anti-entropy.ts";
import { createSealer, SEAL_OVERHEAD, type Sealer } from "./auth.ts";
import { createLoudDrops, sealFailure } from "./loud-drops.ts";
import { systemClock } from "./clock.ts";
import { decodePacket, packetOverhead, type Packet } from "./codec.ts";
import { resolveConfig, type MembershipConfig } from "./config.ts";
import { BroadcastQueue } from "./dissemination.ts";
import { checkOwnRecord } from "./own-state.ts";
import { Awareness } from "./probe.ts";
import { ProbeOrder } from "./probe-order.ts";
import { Prober } from "./prober.ts";
import { PacketSender } from "./sender.ts";
import { MemberTable } from "./state.ts";
import { TimerSet } from "./timers.ts";
import { ViewUpdates } from "./view-updates.ts";
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

const noLogger: MembershipLogger = { debug() {}, info() {}, warn() {} };

/**
 * SWIM with the Lifeguard refinements:
 *
 * - each round, probe one member (round-robin over a shuffled list): ping, and
 *   without an ack in time, ask `indirectChecks` others to ping it (a bad link
 *   between two nodes does not make either look dead) — `prober.ts`;
 * - no ack at all: suspect it, and declare it dead when the suspicion times out
 *   (shorter with more independent suspicions); a suspected member refutes by
 *   raising its incarnation — `view-updates.ts`;
 * - news travels piggybacked on probes and on gossip rounds, a limited number of
 *   times each (`dissemination.ts`, `sender.ts`); an anti-entropy exchange now
 *   and then repairs what gossip missed: digests first, then only the records of
 *   the buckets that differ — `anti-entropy.ts`;
 * - a node that misses acks and nacks stretches its own timeouts (local health).
 *
 * This class wires the parts, runs the rounds and dispatches datagrams.
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
  readonly #timers: TimerSet;
  readonly #sender: PacketSender;
  readonly #prober: Prober;
  readonly #antiEntropy: AntiEntropy;
  readonly #view: ViewUpdates;
  readonly #listeners = new Set<(event: MembershipEvent) => void>();
  readonly #joinWaiters: Array<() => void> = [];
  readonly #keyed: boolean;
  readonly #loudDrop: (from: string, why: string) => void;
  readonly #stats = { sent: 0, received: 0, dropped: 0, refuted: 0 };
  #status: Status = "new";
  #seeds: string[] = [];
  #seq = 0;
  #lastRepair = Number.NEGATIVE_INFINITY;
  #leaving: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: MembershipOptions) {
    const config = resolveConfig(options.config);
    this.#config = config;
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    const random = options.random ?? Math.random;
    this.#random = random;
    this.#transport = options.transport;
    this.#sealer = createSealer(options.key);
    this.#keyed = options.key !== undefined;
    const log = options.logger ?? noLogger;
    this.#loudDrop = createLoudDrops(log, () => clock.now());
    this.#log = log;
    this.#timers = new TimerSet(clock, log);
    const self = checkOwnRecord(config, { ...options.self, started: options.self.started ?? clock.now() });
    const selfId = self.id;
    this.#selfId = selfId;
    this.#cluster = self.cluster;
    const table = new MemberTable(self, clock.now());
    this.#table = table;
    if (options.knownMembers) table.preload(options.knownMembers, clock.now());
    this.#probeOrder = new ProbeOrder(table, selfId, random);
    this.#awareness = new Awareness(config.awarenessMaxMultiplier);
    const running = (): boolean => this.#status === "running";
    const nextSeq = (): number => (this.#seq = (this.#seq + 1) >>> 0);
    this.#sender = new PacketSender({
      config,
      cluster: self.cluster,
      selfId,
      sealer: this.#sealer,
      transport: this.#transport,
      queue: this.#queue,
      activeCount: () => table.activeCount(),
      log,
      onSent: () => this.#stats.sent++,
    });
    const send = this.#sender.send.bind(this.#sender);
    this.#prober = new Prober({
      config,
      selfId,
      table,
      awareness: this.#awareness,
      timers: this.#timers,
      random,
      nextSeq,
      send: (to, body, lead) => send(to, body, config.maxPacketSize, lead),
      running,
    });
    this.#view = new ViewUpdates({
      config,
      clock,
      log,
      selfId,
      cluster: self.cluster,
      table,
      queue: this.#queue,
      probeOrder: this.#probeOrder,
      awareness: this.#awareness,
      running,
      emit: (events) => this.#emit(events),
      tell: (address, entry) => send(address, { type: "gossip" }, config.maxPacketSize, entry),
      probe: (target, on) => this.#prober.probe(target, this.#awareness.multiplier, on),
      onRefute: () => this.#stats.refuted++,
    });
    this.#antiEntropy = new AntiEntropy({
      config,
      clock,
      random,
      selfId,
      table,
      overhead: packetOverhead(self.cluster, selfId) + SEAL_OVERHEAD,
      nextSeq,
      send,
      merge: (sender, states) => this.#view.merge(sender, states),
    });
  }

  get self(): Member {
    return this.#table.self;
  }

  async start(seeds: string[] = []): Promise<void> {
    if (this.#status !== "new") throw new Error("this membership was already started");
    this.#status = "running";
    this.#transport.onMessage((from, bytes) => this.#receive(from, bytes));
    this.#view.broadcastSelf();
    const config = this.#config;
    // Random first offsets keep the nodes of a cluster from probing in lockstep.
    this.#timers.after(this.#random() * config.probeInterval, () => this.#probeTick());
    this.#timers.after(this.#random() * config.gossipInterval, () => this.#gossipTick());
    this.#timers.after(config.pushPullInterval * (0.5 + this.#random()), () => this.#pushPullTick());
    this.#timers.after(this.#reapEvery(), () => this.#reapTick());
    this.#seeds = [...new Set(seeds)].filter((seed) => seed !== this.#transport.address);
    if (this.#seeds.length === 0) return;
    this.#timers.after(config.joinRetryInterval, () => this.#joinTick());
    let heard = false;
    const answered = new Promise<void>((resolve) => {
      this.#joinWaiters.push(() => resolve(void (heard = true)));
      this.#timers.after(config.joinTimeout, resolve);
    });
    this.#antiEntropy.pushTo(this.#seeds, true);
    await answered;
    if (!heard && this.#status === "running") {
      this.#log.warn({ seeds: this.#seeds }, `no seed answered within ${config.joinTimeout} ms (${this.#seeds.join(", ")}): running alone, trying again every ${config.joinRetryInterval} ms`);
    }
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
    if (this.#status === "running") this.#view.broadcastSelf();
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
    this.#view.cancelSuspicions();
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
    this.#view.cancelSuspicions();
    this.#prober.clear();
    this.#antiEntropy.clear();
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
      if (!message) {
        this.#loudDrop(from, sealFailure(bytes, this.#keyed));
        return this.#drop(from, "datagram not sealed with this cluster's key");
      }
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
        this.#antiEntropy.pushTo([from], false);
      }
    }
    switch (body.type) {
      case "ping":
        // A restarted process at the same address must not answer for the old id.
        if (body.target === this.#selfId) this.#sender.send(from, { type: "ack", seq: body.seq });
        break;
      case "ping-req":
        this.#prober.relay(from, body.seq, body.target, body.address);
        break;
      case "ack":
        this.#prober.ack(body.seq);
        break;
      case "nack":
        this.#prober.nack(body.seq);
        break;
      case "push":
        this.#antiEntropy.onPush(from, body);
        break;
      case "pull":
        this.#antiEntropy.onPull(from, packet.sender, body);
        for (const resolve of this.#joinWaiters.splice(0)) resolve();
        break;
      case "sync":
        this.#view.merge(packet.sender, body.states);
        break;
      case "gossip":
        break;
    }
    for (const entry of packet.gossip) this.#view.applyGossip(entry);
  }

  // ---- rounds -------------------------------------------------------------

  #probeTick(): void {
    if (this.#status !== "running") return;
    const multiplier = this.#awareness.multiplier;
    const target = this.#probeOrder.next();
    // A snapshot: the probe judges the member at the incarnation it began with,
    // so a refutation since then wins.
    if (target) this.#prober.probe(target, multiplier, { onFail: () => this.#view.suspect(target.record.id, target.incarnation, this.#selfId) });
    this.#timers.after(this.#config.probeInterval * multiplier, () => this.#probeTick());
  }

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
      if (!this.#sender.send(target, { type: "gossip" })) break;
    }
  }

  #pushPullTick(): void {
    if (this.#status !== "running") return;
    const alive = this.#table.pick(["alive"], 1, this.#random);
    // One dead member too: if it is only cut off, this is how it hears of us again.
    const dead = this.#table.pick(["dead"], 1, this.#random);
    this.#antiEntropy.pushTo([...alive, ...dead].map((member) => member.record.gossip), false);
    // Not stretched with n (memberlist stretches its full-state exchange beyond 32
    // members): equal views exchange a digest only, a few hundred bytes whatever
    // n, and the exchanges with dead members are what heals a partition.
    this.#timers.after(this.#config.pushPullInterval, () => this.#pushPullTick());
  }

  #joinTick(): void {
    if (this.#status !== "running") return;
    if (!this.#table.hasActiveOthers()) this.#antiEntropy.pushTo(this.#seeds, true);
    this.#timers.after(this.#config.joinRetryInterval, () => this.#joinTick());
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
