import assert from "node:assert/strict";
import { test } from "node:test";
import type { LookupBackend } from "../../../src/lookup/backend.ts";
import { CatalogSync, type FetchCatalog } from "../../../src/lookup/catalog-sync/index.ts";
import { createMembership, FAST_MEMBERSHIP_CONFIG, seededRandom, SimNetwork, type MemberRecord } from "../../../src/lookup/membership/index.ts";

const quiet = { debug() {}, info() {}, warn() {} };

/**
 * A cluster of the real membership and catalog code on the simulated network;
 * catalogs are fetched in memory (the stream's pages, as `amoeba.catalog` serves them).
 */
class CatalogCluster {
  readonly sim: SimNetwork;
  readonly backends: LookupBackend[] = [];
  readonly syncs = new Map<string, CatalogSync>();
  bytes = 0;

  constructor(seed: number, size: number, services: (i: number) => Array<[string, string]>) {
    this.sim = new SimNetwork({ seed });
    this.sim.clock.advance(1_000);
    this.sim.tap((_from, _to, bytes) => (this.bytes += bytes.length));
    const fetch: FetchCatalog = (address, request) => {
      const sync = this.syncs.get(address);
      return (async function* () {
        if (!sync) throw new Error(`nothing listens at ${address}`);
        yield* sync.handlers.fetch(request, undefined as never) as Iterable<unknown>;
      })();
    };
    for (let i = 0; i < size; i++) {
      const address = `sim://node-${i}`;
      const self: Omit<MemberRecord, "gossip"> = {
        id: `node-${i}#1`,
        name: `node-${i}`,
        cluster: "sim",
        addresses: [`tcp://node-${i}:7400`],
        labels: { zone: i % 2 ? "a" : "b" },
        services: services(i),
        load: 0,
        started: this.sim.clock.now(),
      };
      const sync = new CatalogSync({ self, fetch, logger: quiet, methods: () => () => Array.from({ length: 10 }, (_, m) => `method${m}`) });
      this.syncs.set(self.addresses[0]!, sync);
      const membership = createMembership({
        self: { ...sync.gossipRecord(self), gossip: address },
        transport: this.sim.transport(address),
        config: FAST_MEMBERSHIP_CONFIG,
        clock: this.sim.clockFor(address),
        random: seededRandom(seed * 7919 + i),
      });
      this.backends.push(
        sync.wrap({
          start: () => membership.start(i === 0 ? [] : ["sim://node-0"]),
          members: () => membership.members(),
          update: (change) => membership.update(change),
          on: (listener) => membership.on(listener),
          leave: (timeoutMs) => membership.leave(timeoutMs),
          stop: () => membership.stop(),
        }),
      );
    }
  }

  /** Runs the simulated clock in steps of `stepMs`, letting transfers (promises) run between, until `done` or `limitMs`; returns the time taken or -1. */
  async run(done: () => boolean, limitMs: number, stepMs = 10): Promise<number> {
    const start = this.sim.clock.now();
    while (this.sim.clock.now() - start < limitMs) {
      if (done()) return this.sim.clock.now() - start;
      this.sim.clock.advance(stepMs);
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    }
    return done() ? this.sim.clock.now() - start : -1;
  }

  /** Whether every node sees every node alive, with `count` services at node 0. */
  seen(count: number, service?: string): boolean {
    return this.backends.every((backend) => {
      const members = backend.members();
      const first = members.find((m) => m.record.name === "node-0");
      return (
        members.length === this.backends.length &&
        members.every((m) => m.state === "alive") &&
        first?.record.services.length === count &&
        (service === undefined || first.record.services.some(([name]) => name === service))
      );
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.backends.map((backend) => backend.stop()));
  }
}

const named = (count: number, prefix = "inventory.service-number-"): Array<[string, string]> => Array.from({ length: count }, (_, i) => [`${prefix}${i}`, "1.0.0"]);

test("gossip bytes per node do not grow with the services a node serves while catalogs do not change; a change is seen everywhere", async (t) => {
  const size = 16;
  const measured: Record<number, { perNode: number; formed: number; change: number; changeBytes: number }> = {};
  for (const count of [10, 1_000]) {
    const cluster = new CatalogCluster(7, size, (i) => (i === 0 ? named(count) : [["calculator", "1.0.0"]]));
    t.after(() => cluster.close());
    for (const backend of cluster.backends) void backend.start();
    const formed = await cluster.run(() => cluster.seen(count), 30_000);
    assert.ok(formed >= 0, `16 nodes see node-0's ${count} services`);
    // Let the formation's news die out, then measure a steady minute.
    await cluster.run(() => false, 10_000, 100);
    const before = cluster.bytes;
    await cluster.run(() => false, 60_000, 100);
    const perNode = (cluster.bytes - before) / size / 60;
    // One service more at node 0: its digest is gossiped, the change fetched as a delta.
    const changeStart = cluster.bytes;
    cluster.backends[0]!.update({ services: [...named(count), ["late", "1.0.0"]] });
    const change = await cluster.run(() => cluster.seen(count + 1, "late"), 10_000);
    assert.ok(change >= 0, "every node sees the late service");
    measured[count] = { perNode, formed, change, changeBytes: cluster.bytes - changeStart };
    const deltas = [...cluster.syncs.values()].slice(1).map((sync) => sync.stats().deltas);
    assert.ok(deltas.every((n) => n >= 1), "every other node fetched the change as a delta");
  }
  const small = measured[10]!;
  const big = measured[1_000]!;
  console.log(
    `# 16 simulated nodes, node-0 serving 10 / 1,000 services: gossip ${small.perNode.toFixed(0)} / ${big.perNode.toFixed(0)} B per node per s while unchanged; ` +
      `a service added seen everywhere after ${small.change} / ${big.change} ms (simulated)`,
  );
  assert.ok(big.perNode <= small.perNode * 1.05, `gossip with 1,000 services (${big.perNode} B/s) is not more than with 10 (${small.perNode} B/s)`);
  assert.ok(big.perNode < 1_000, "a steady cluster gossips under 1 kB per node per second");
});
