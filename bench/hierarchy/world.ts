/**
 * The simulated world of the hierarchy: every node of every cluster runs the
 * real membership (SWIM, default settings) on the simulated network and the
 * real catalog code (digests in gossip, catalogs fetched when they change).
 * Only the catalog's transport is simulated: a fetch takes the pages the
 * member's own catalog serves, encodes them with msgpack as a stream would,
 * counts their bytes, and hands the pages over after a delay. The pages
 * themselves, not a decoded copy: the receiver keeps their strings, and
 * thousands of members then hold one copy of each route label, not one each.
 */
import { pack } from "msgpackr";
import type { LookupBackend } from "../../src/lookup/backend.ts";
import { Catalog } from "../../src/lookup/catalog.ts";
import { CatalogSync, type FetchCatalog } from "../../src/lookup/catalog-sync/index.ts";
import { createMembership, seededRandom, SimNetwork, type MemberRecord, type Membership } from "../../src/lookup/membership/index.ts";

const quiet = { debug() {}, info() {}, warn() {} };
/** One-way delay of a catalog transfer, ms, plus 1 ms per 100 kB. */
const TRANSFER_DELAY_MS = 2;

/** One node of one cluster: its membership, catalog and look-up. */
export interface SimMember {
  readonly id: string;
  readonly name: string;
  readonly cluster: string;
  /** Its gossip address (`sim://…`). */
  readonly gossip: string;
  /** Its RPC address, from which others fetch its catalog. */
  readonly address: string;
  readonly membership: Membership;
  readonly sync: CatalogSync;
  /** The membership with catalogs merged in: what a node's look-up reads. */
  readonly backend: LookupBackend;
  readonly catalog: Catalog;
  /** The gateway it belongs to, if any. */
  gateway: string | undefined;
  crashed: boolean;
}

/** Byte counters by sender (gossip address): gossip datagrams and catalog pages. */
export interface Meter {
  gossip: Map<string, number>;
  catalog: Map<string, number>;
}

/** The network, clock, members and the simulated catalog transport. */
export class World {
  readonly net: SimNetwork;
  readonly members = new Map<string, SimMember>();
  readonly byAddress = new Map<string, SimMember>();
  readonly #seed: number;
  readonly #seeds = new Map<string, string>();
  meter: Meter = { gossip: new Map(), catalog: new Map() };
  #count = 0;

  constructor(seed: number) {
    this.#seed = seed;
    this.net = new SimNetwork({ seed, link: { delay: 1, jitter: 1 } });
    this.net.clock.advance(1_000);
    this.net.tap((from, _to, bytes) => this.meter.gossip.set(from, (this.meter.gossip.get(from) ?? 0) + bytes.length));
  }

  get now(): number {
    return this.net.clock.now();
  }

  /** A timer on the simulated clock. */
  setTimer = (delayMs: number, fn: () => void): (() => void) => this.net.clock.setTimer(delayMs, fn);

  /** Starts a member in `cluster` (the cluster's first member is the others' seed); not awaited: the clock drives it. */
  add(name: string, cluster: string, services: Array<[string, string]>, labels: Record<string, string>): SimMember {
    const index = this.#count++;
    const gossip = `sim://${name}@${cluster}`;
    const address = `tcp://${name}.${cluster}:7400`;
    const self: Omit<MemberRecord, "gossip"> = {
      id: `${name}@${cluster}#${index}`,
      name,
      cluster,
      addresses: [address],
      labels,
      services,
      load: 0,
      started: this.now,
    };
    const seed = this.#seeds.get(cluster);
    if (seed === undefined) this.#seeds.set(cluster, gossip);
    const sync = new CatalogSync({ self, fetch: this.#fetch, logger: quiet, setTimer: this.setTimer });
    const membership = createMembership({
      self: { ...sync.gossipRecord(self), gossip },
      transport: this.net.transport(gossip),
      clock: this.net.clockFor(gossip),
      random: seededRandom((Math.imul(this.#seed, 0x9e3779b1) + index * 0x85ebca6b) >>> 0),
      logger: quiet,
    });
    const backend = sync.wrap({
      start: () => membership.start(seed === undefined ? [] : [seed]),
      members: () => membership.members(),
      update: (change) => membership.update(change),
      on: (listener) => membership.on(listener),
      leave: (timeoutMs) => membership.leave(timeoutMs),
      stop: () => membership.stop(),
    });
    const member: SimMember = { id: self.id, name, cluster, gossip, address, membership, sync, backend, catalog: new Catalog(backend), gateway: undefined, crashed: false };
    this.members.set(member.id, member);
    this.byAddress.set(address, member);
    backend.start().catch(() => {});
    return member;
  }

  /** Stops `member` without a word, as `kill -9`: its datagrams and timers wait for ever, its catalog is not served. */
  crash(member: SimMember): void {
    member.crashed = true;
    this.net.pause(member.gossip);
  }

  /**
   * Runs the clock in steps of `stepMs`, letting catalog transfers (promises)
   * run between, until `done` holds or `limitMs` passed; returns the
   * simulated time taken, or -1. `each` runs after every step.
   */
  async run(done: () => boolean, limitMs: number, stepMs = 10, each?: () => void): Promise<number> {
    const start = this.now;
    for (;;) {
      if (done()) return this.now - start;
      if (this.now - start >= limitMs) return -1;
      this.net.clock.advance(stepMs);
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      each?.();
    }
  }

  /** What a stream of `amoeba.catalog` pages would carry: the member's own pages, counted as encoded, handed over after a delay. */
  readonly #fetch: FetchCatalog = (address, request) => {
    const world = this;
    return (async function* () {
      const member = world.byAddress.get(address);
      if (!member || member.crashed) {
        await world.#delay(TRANSFER_DELAY_MS);
        throw new Error(`connection refused by ${address}`);
      }
      for (const page of member.sync.handlers.fetch(request, undefined as never) as Iterable<unknown>) {
        const bytes = pack(page).length;
        world.meter.catalog.set(member.gossip, (world.meter.catalog.get(member.gossip) ?? 0) + bytes);
        await world.#delay(TRANSFER_DELAY_MS + bytes / 100_000);
        yield page;
      }
    })();
  };

  #delay(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }
}
