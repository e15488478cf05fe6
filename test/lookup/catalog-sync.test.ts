import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { randomUUID } from "node:crypto";
import { connect, startNode, type MembershipEvent, type Node, type Peer } from "../../src/index.ts";
import type { LookupBackend } from "../../src/lookup/backend.ts";
import { CATALOG_DIGEST_LABEL, CatalogContract, CatalogSync, OwnCatalog, RemoteCatalogs, type CatalogPage } from "../../src/lookup/catalog-sync/index.ts";
import { createMembership, createUdpTransport, FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/index.ts";
import { manyServices } from "./many-services.ts";

let rendezvous = "";
before(async () => {
  rendezvous = await mkdtemp(join(tmpdir(), "amoeba-catalog-test-"));
  process.env.AMOEBA_RENDEZVOUS_DIR = rendezvous;
});
after(async () => {
  await rm(rendezvous, { recursive: true, force: true });
});

let clusters = 0;
const cluster = (): string => `catalog-${process.pid}-${++clusters}`;
const quiet = { debug() {}, info() {}, warn() {} };

async function eventually<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Pages as a member's stream would yield them. */
async function* stream(pages: unknown[]): AsyncIterable<unknown> {
  for (const page of pages) yield page;
}

test("an own catalog answers a holder of an older version with the changes only, and a newcomer with all of it, in pages", () => {
  const own = new OwnCatalog();
  const services = new Map<string, string[]>();
  for (let i = 0; i < 2_500; i++) services.set(`s:svc-${i}@1.0.0`, ["a", "b"]);
  own.replace("s:", services);
  const whole = own.pages();
  assert.equal(whole.length, 3, "2,500 entries in pages of at most 1,000");
  assert.ok(whole.every((page) => page.full && page.version === 1));
  assert.deepEqual(whole.map((page) => page.last), [false, false, true]);
  services.delete("s:svc-7@1.0.0");
  services.set("s:svc-new@2.0.0", ["c"]);
  assert.equal(own.replace("s:", services), true);
  assert.equal(own.replace("s:", services), false, "the same entries again change nothing");
  const delta = own.pages(1);
  assert.equal(delta.length, 1);
  assert.equal(delta[0]!.full, false);
  assert.deepEqual(new Map(delta[0]!.entries), new Map<string, unknown>([["s:svc-7@1.0.0", null], ["s:svc-new@2.0.0", ["c"]]]));
  assert.equal(own.pages(99)[0]!.full, true, "a version it never had gets the whole catalog");
  assert.equal(own.view.services.length, 2_500);
  assert.deepEqual(own.view.methods["svc-new@2.0.0"], ["c"]);
});

test("a member's catalog held elsewhere follows its deltas, and a bad or inconsistent transfer changes nothing", async () => {
  const own = new OwnCatalog();
  own.replace("s:", new Map([["s:calc@1.0.0", ["add"]]]));
  const changes: string[] = [];
  const served: Array<(since?: number) => unknown[]> = [];
  const remote = new RemoteCatalogs({
    logger: quiet,
    onChange: (id) => changes.push(id),
    fetch: (_address, request) => stream((served.shift() ?? ((since?: number) => own.pages(since)))(request.since)),
  });
  remote.want("m1", own.digest, "tcp://x");
  await eventually("the first copy", () => remote.heldDigest("m1") === own.digest);
  own.replace("l:", new Map([["l:amoeba.route.calc", "1.0.0:1:far"]]));
  remote.want("m1", own.digest, "tcp://x");
  await eventually("the delta applied", () => remote.heldDigest("m1") === own.digest);
  assert.deepEqual(remote.view("m1")!.labels, { "amoeba.route.calc": "1.0.0:1:far" });
  assert.deepEqual(remote.stats(), { full: 1, deltas: 1, failed: 0, entries: 2 });

  // A page out of shape, then one whose entries do not add up to its hash: both refused, the copy kept.
  own.replace("s:", new Map([["s:calc@1.0.0", ["add"]], ["s:geo@1.0.0", ["where"]]]));
  const held = remote.view("m1");
  served.push(() => [{ version: own.version, hash: 1, full: true, entries: [["s:x@1", "not methods"]], last: true }]);
  served.push((since) => own.pages(since).map((page: CatalogPage) => ({ ...page, hash: (page.hash + 1) >>> 0 })));
  remote.want("m1", own.digest, "tcp://x");
  await eventually("two refusals, then the right copy", () => remote.heldDigest("m1") === own.digest, 15_000);
  assert.equal(remote.stats().failed, 2);
  assert.notEqual(remote.view("m1"), held);
  assert.deepEqual(remote.view("m1")!.services, [["calc", "1.0.0"], ["geo", "1.0.0"]]);
  assert.equal(remote.stats().full, 2, "after a hash that did not match, the catalog is fetched whole");
  remote.close();
});

test("a node serving 1,000 services with 10,000 methods is seen whole by the others; gossip carries only its digest", async (t) => {
  const name = cluster();
  // The default timings: a loaded machine's pauses must not read as deaths while 1,000 services are served.
  const options = { cluster: name, listen: "tcp://127.0.0.1:0", lookup: {} } as const;
  const big = await startNode({ name: "big", ...options });
  const others: Node[] = [];
  t.after(() => Promise.all([big, ...others].map((node) => node.close())));
  const services = manyServices(1_000, 10);
  const started = performance.now();
  for (const { contract, handlers } of services) big.serve(contract, handlers);
  const served = performance.now() - started;
  for (let i = 0; i < 2; i++) others.push(await startNode({ name: `other-${i}`, ...options }));
  for (const node of others) {
    await eventually(`${node.name} sees all 1,000 services of big`, () => {
      const member = node.members().find((m) => m.record.name === "big");
      return member !== undefined && member.record.services.filter(([s]) => s.startsWith("inventory.")).length === 1_000;
    });
  }
  const seen = performance.now() - started;
  const member = others[0]!.members().find((m) => m.record.name === "big")!;
  const methods = Object.entries(member.record.methods ?? {}).filter(([key]) => key.startsWith("inventory."));
  assert.equal(methods.reduce((sum, [, names]) => sum + names.length, 0), 10_000);
  assert.equal(member.record.labels[CATALOG_DIGEST_LABEL], undefined, "the digest label is the look-up's, not shown");
  const found = others[1]!.lookup("inventory.service-number-999");
  assert.equal(found.length, 1);
  const peer = await others[1]!.connect(found[0]!.addresses[0]!);
  const method9 = (peer.client(services[999]!.contract) as Record<string, (input: unknown) => Promise<unknown>>).method9!;
  assert.equal(await method9({}), "inventory.service-number-999");
  // A change is a delta: one more service, seen everywhere.
  const [extra] = manyServices(1, 3, "inventory.late-");
  big.serve(extra!.contract, extra!.handlers);
  for (const node of others) await eventually(`${node.name} sees the late service`, () => node.lookup("inventory.late-0").length === 1);
  console.log(`# 1,000 services × 10 methods: served in ${served.toFixed(0)} ms, seen by 2 others ${seen.toFixed(0)} ms after the first serve()`);
});

test("a change past a limit is a RangeError at the call that made it, and the node goes on", { timeout: 60_000 }, async (t) => {
  const node = await startNode({ name: "limits", cluster: cluster(), listen: "tcp://127.0.0.1:0", lookup: {} });
  t.after(() => node.close());
  const [huge] = manyServices(1, 1, `inventory.${"x".repeat(1_100)}`);
  assert.throws(() => node.serve(huge!.contract, huge!.handlers), RangeError);
  const labels: Record<string, string> = {};
  for (let i = 0; i < 80; i++) labels[`key-${i}`] = "v".repeat(100);
  assert.throws(() => node.updateLabels(labels), RangeError, "more gossip labels than a gossip packet takes");
  // Route labels travel in the catalog: hundreds fit.
  const routes: Record<string, string> = {};
  for (let i = 0; i < 500; i++) routes[`amoeba.route.svc-${i}`] = "1.0.0:1:far";
  node.updateLabels(routes);
  // Services and route labels count together: 199,999 route labels (the 500 and these) fit alone,
  // not beside the node's own services (amoeba.reflect and the others). Refused at the call: once,
  // this threw later, from a microtask, and crashed the process.
  const tooMany: Record<string, string> = {};
  for (let i = 0; i < 199_499; i++) tooMany[`amoeba.route.many-${i}`] = "1.0.0:1:far";
  assert.throws(() => node.updateLabels(tooMany), /at most 200000 entries/);
  assert.equal(node.labels["amoeba.route.many-0"], undefined, "the refused labels are not kept");
  const [small] = manyServices(1, 1, "inventory.after-");
  node.serve(small!.contract, small!.handlers);
  await eventually("the node's own view holds its routes and the new service", () => {
    const self = node.members().find((m) => m.record.id === node.id);
    return self !== undefined && self.record.labels["amoeba.route.svc-499"] === "1.0.0:1:far" && self.record.services.some(([name]) => name === "inventory.after-0") && self.record.labels["amoeba.route.many-0"] === undefined;
  });
});

test("the anti-entropy sweep repairs a catalog that a missed digest change left stale", async (t) => {
  const name = cluster();
  const far = await startNode({ name: "far", cluster: name, listen: "tcp://127.0.0.1:0", lookup: { membership: FAST_MEMBERSHIP_CONFIG } });
  const peers = new Map<string, Promise<Peer>>();
  // The watcher: the real gossip membership over UDP and the real catalog transfer over TCP, with
  // the catalog sync's events to be made deaf and its sweep timer in the test's hands.
  const SWEEP_MS = 3_600_000;
  const sweeps: Array<() => void> = [];
  const setTimer = (delay: number, fn: () => void): (() => void) => {
    if (delay === SWEEP_MS) {
      sweeps.push(fn);
      return () => {
        const at = sweeps.indexOf(fn);
        if (at >= 0) sweeps.splice(at, 1);
      };
    }
    const timer = setTimeout(fn, delay);
    timer.unref();
    return () => clearTimeout(timer);
  };
  const self = { id: randomUUID(), name: "watcher", cluster: name, addresses: [], labels: {}, services: [], load: 0 };
  const sync = new CatalogSync({
    self,
    logger: quiet,
    sweepInterval: SWEEP_MS,
    setTimer,
    fetch: (address, request, signal) => ({
      async *[Symbol.asyncIterator]() {
        if (!peers.has(address)) peers.set(address, connect(address, { logger: { ...quiet, error() {} } }));
        yield* (await peers.get(address)!).client(CatalogContract).fetch(request, { signal });
      },
    }),
  });
  const transport = await createUdpTransport("udp://127.0.0.1:0");
  const membership = createMembership({ self: { ...sync.gossipRecord(self), gossip: transport.address }, transport, config: FAST_MEMBERSHIP_CONFIG, logger: quiet });
  let deaf = false;
  const gossip: LookupBackend = {
    start: () => membership.start([far.gossipAddress!]),
    members: () => membership.members(),
    update: (change) => membership.update(change),
    // A missed digest change: while deaf, the news of members does not reach the catalog sync.
    on: (listener) => membership.on((event: MembershipEvent) => void (deaf || listener(event))),
    leave: (ms) => membership.leave(ms),
    stop: () => membership.stop(),
  };
  const watcher = sync.wrap(gossip);
  t.after(async () => {
    await watcher.stop();
    for (const peer of peers.values()) await (await peer).close();
    await far.close();
  });
  const [first, second] = manyServices(2, 1, "sweep.service-");
  far.serve(first!.contract, first!.handlers);
  await watcher.start();
  assert.equal(sweeps.length, 1, "the sweep is scheduled");
  const farServices = (): string[] => watcher.members().find((m) => m.record.id === far.id)?.record.services.map(([service]) => service).filter((service) => service.startsWith("sweep.")) ?? [];
  await eventually("the watcher holds far's catalog", () => farServices().includes("sweep.service-0"));

  deaf = true;
  const before = membership.get(far.id)!.record.labels[CATALOG_DIGEST_LABEL];
  far.serve(second!.contract, second!.handlers);
  await eventually("far's new digest in the watcher's gossip", () => membership.get(far.id)?.record.labels[CATALOG_DIGEST_LABEL] !== before);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(farServices(), ["sweep.service-0"], "the digest path missed the change: the copy held is stale");
  const fetched = sync.stats();

  // One sweep compares every member's digest with the copy held and fetches the change.
  const started = performance.now();
  sweeps.shift()!();
  assert.equal(sweeps.length, 1, "the next sweep is scheduled");
  await eventually("the sweep repairs the copy", () => farServices().includes("sweep.service-1"), 2_000);
  console.log(`# repaired ${(performance.now() - started).toFixed(0)} ms after the sweep`);
  assert.equal(sync.stats().deltas, fetched.deltas + 1, "as a delta, not the whole catalog");
});
