import {
  createMembership,
  FAST_MEMBERSHIP_CONFIG,
  seededRandom,
  SimNetwork,
  type LinkOptions,
  type Member,
  type MemberRecord,
  type Membership,
  type MembershipConfig,
  type MembershipEvent,
  type MemberState,
} from "../../../src/lookup/membership/index.ts";

/** One simulated node: its membership and every event it saw, with the time. */
export interface SimNode {
  name: string;
  address: string;
  id: string;
  membership: Membership;
  events: Array<{ at: number; event: MembershipEvent }>;
  running: boolean;
}

export interface SimClusterOptions {
  seed?: number;
  config?: Partial<MembershipConfig>;
  key?: string;
  link?: Partial<LinkOptions>;
}

/** A set of memberships on one simulated network, started through the first node. */
export class SimCluster {
  readonly sim: SimNetwork;
  readonly config: MembershipConfig;
  readonly nodes: SimNode[] = [];
  readonly #seed: number;
  readonly #key: string | undefined;
  #generation = 0;

  constructor(options: SimClusterOptions = {}) {
    this.#seed = options.seed ?? 1;
    this.sim = new SimNetwork({ seed: this.#seed, link: options.link });
    this.config = { ...FAST_MEMBERSHIP_CONFIG, ...options.config };
    this.#key = options.key;
    // Start away from zero, so that a record can claim an earlier start.
    this.sim.clock.advance(1000);
  }

  get clock() {
    return this.sim.clock;
  }

  /** Creates (not starts) a node; a name used before makes a restart: same address, new id. */
  add(name: string, options: { key?: string | null; record?: Partial<MemberRecord>; known?: Array<{ record: MemberRecord; incarnation: number }> } = {}): SimNode {
    const address = `sim://${name}`;
    const generation = ++this.#generation;
    const id = `${name}#${generation}`;
    const key = options.key === null ? undefined : (options.key ?? this.#key);
    const self: MemberRecord = {
      id,
      name,
      cluster: "sim",
      gossip: address,
      addresses: [`tcp://${name}:7400`],
      labels: { zone: generation % 2 ? "a" : "b" },
      services: [["calculator", "1.0.0"]],
      load: 0,
      started: this.clock.now(),
      ...options.record,
    };
    const membership = createMembership({
      self,
      knownMembers: options.known,
      transport: this.sim.transport(address),
      config: this.config,
      key,
      clock: this.sim.clockFor(address),
      random: seededRandom(this.#seed * 7919 + generation),
    });
    const node: SimNode = { name, address, id, membership, events: [], running: false };
    membership.on((event) => node.events.push({ at: this.clock.now(), event }));
    this.nodes.push(node);
    return node;
  }

  /** Starts `node`, joining through `seeds` (default: the first node, unless it is that node). */
  start(node: SimNode, seeds?: string[]): void {
    const first = this.nodes[0]!;
    node.running = true;
    void node.membership.start(seeds ?? (node === first ? [] : [first.address]));
  }

  /** Adds and starts `n` nodes named `node-0…`, then runs until all see all alive; returns the time it took or -1. */
  grow(n: number, limitMs = 30_000): number {
    for (let i = 0; i < n; i++) this.start(this.add(`node-${i}`));
    return this.clock.runUntil(() => this.converged(), limitMs);
  }

  /**
   * Adds `n` nodes named `node-0…` that know one another from the start
   * (`knownMembers`), as a cluster formed long ago; starts none of them.
   */
  addFormed(n: number): SimNode[] {
    const known = Array.from({ length: n }, (_, i) => {
      const name = `node-${i}`;
      const record: MemberRecord = {
        id: `${name}#${this.#generation + 1 + i}`,
        name,
        cluster: "sim",
        gossip: `sim://${name}`,
        addresses: [`tcp://${name}:7400`],
        labels: { zone: (this.#generation + 1 + i) % 2 ? "a" : "b" },
        services: [["calculator", "1.0.0"]],
        load: 0,
        started: this.clock.now(),
      };
      return { record, incarnation: 0 };
    });
    return known.map(({ record }) => this.add(record.name, { known, record }));
  }

  /** Stops `node` without a word, as a crash would. */
  crash(node: SimNode): void {
    node.running = false;
    void node.membership.stop();
  }

  running(): SimNode[] {
    return this.nodes.filter((node) => node.running);
  }

  /** What `observer` thinks of member `id`. */
  stateOf(observer: SimNode, id: string): MemberState | undefined {
    return observer.membership.get(id)?.state;
  }

  /** Whether every running node sees exactly the running nodes alive. */
  converged(): boolean {
    const running = this.running();
    const ids = new Set(running.map((node) => node.id));
    return running.every((observer) => {
      const alive = observer.membership.members().filter((m: Member) => m.state === "alive");
      return alive.length === ids.size && alive.every((m) => ids.has(m.record.id));
    });
  }

  /** Whether every running node other than `target` sees it in `state`. */
  allSee(id: string, state: MemberState | undefined, observers = this.running()): boolean {
    return observers.every((observer) => observer.id === id || this.stateOf(observer, id) === state);
  }

  /** Events of `types` about member `id`, seen by any node, at or after `since`. */
  eventsAbout(id: string, types: Array<MembershipEvent["type"]>, since = 0): Array<{ observer: string; at: number; type: string }> {
    const out: Array<{ observer: string; at: number; type: string }> = [];
    for (const node of this.nodes) {
      for (const { at, event } of node.events) {
        if (at >= since && event.member.record.id === id && types.includes(event.type)) out.push({ observer: node.id, at, type: event.type });
      }
    }
    return out;
  }

  /** Every event of `types` seen by any node at or after `since`. */
  events(types: Array<MembershipEvent["type"]>, since = 0): Array<{ observer: string; at: number; type: string; about: string }> {
    const out: Array<{ observer: string; at: number; type: string; about: string }> = [];
    for (const node of this.nodes) {
      for (const { at, event } of node.events) {
        if (at >= since && types.includes(event.type)) out.push({ observer: node.id, at, type: event.type, about: event.member.record.id });
      }
    }
    return out;
  }

  /** Stops everything that still runs. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.membership.stop()));
  }
}
