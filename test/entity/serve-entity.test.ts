// Entity types served on real nodes over TCP: calls addressed by key, turns, read-only turns,
// ownership by rendezvous over the look-up, forwarding from a node that does not own the key,
// hand-off when a node closes or joins, idempotency keys, and the default directory store.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { contract, isRpcError, startNode, unary, type Node } from "../../src/index.ts";
import { entities, openDirectoryStore, serveEntity, serveSingleton, singleton, type EntityStore, type ServedEntityType } from "../../src/entity/index.ts";
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/config.ts";
import { ENTITY_FORWARDED_META } from "../../src/rpc/keyed-meta.ts";
import { rendezvousScore } from "../../src/balance/rendezvous.ts";

const Counter = contract("counter", "1.0.0", {
  add: unary({ input: z.object({ by: z.number() }), output: z.object({ value: z.number(), node: z.string() }) }),
  get: unary({ input: z.object({}), output: z.object({ value: z.number(), node: z.string() }) }),
  fail: unary({ input: z.object({}), output: z.object({}) }),
});

interface CounterState {
  value: number;
}

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "amoeba-serve-entity-"));
  process.env.AMOEBA_RENDEZVOUS_DIR = join(dir, "rendezvous");
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let clusters = 0;
const fast = { membership: FAST_MEMBERSHIP_CONFIG };

/** Serves the counter on `node`; `seen` counts each node's turns and the calls passed on to it. */
function serveCounter(node: Node, store: EntityStore | undefined, seen?: { turns: Map<string, number>; forwarded: number }, extra: { dir?: string; leaseMs?: number } = {}): Promise<ServedEntityType> {
  return serveEntity(node, Counter, {
    store,
    ...extra,
    initial: () => ({ value: 0 }) as CounterState,
    readOnly: ["get"],
    handlers: {
      async add({ by }, entity, ctx) {
        if (seen) {
          seen.turns.set(ctx.node, (seen.turns.get(ctx.node) ?? 0) + 1);
          if (ctx.meta[ENTITY_FORWARDED_META] !== undefined) seen.forwarded++;
        }
        const before = entity.state.value;
        // A turn that awaits between its read and its write: only one turn at a time keeps every add.
        await sleep(1);
        entity.state = { value: before + by };
        return { value: entity.state.value, node: ctx.node };
      },
      get: (_input, entity, ctx) => ({ value: entity.state.value, node: ctx.node }),
      fail(_input, entity) {
        entity.state.value += 1000;
        throw new Error("the turn failed after it changed the state");
      },
    },
  });
}

async function eventually<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** `count` serving nodes and one caller in one cluster with a fast look-up; every node sees every server. */
async function cluster(t: TestContext, count: number): Promise<{ servers: Node[]; caller: Node; name: string }> {
  const name = `entity-${process.pid}-${++clusters}`;
  const servers: Node[] = [];
  for (let i = 0; i < count; i++) servers.push(await startNode({ name: `s${i}`, cluster: name, listen: "tcp://127.0.0.1:0", lookup: fast }));
  const caller = await startNode({ name: "caller", cluster: name, listen: "tcp://127.0.0.1:0", lookup: fast });
  t.after(() => Promise.all([caller, ...servers].map((node) => node.close({ timeout: 2_000 }))));
  return { servers, caller, name };
}

async function allSee(nodes: Node[], count: number): Promise<void> {
  await eventually(`every node sees ${count} counters`, () => nodes.every((node) => node.lookup(Counter).length === count));
}

/** The owner of `key` among `nodes` by rendezvous over their ids, as the servers compute it. */
function ownerAmong(key: string, nodes: Node[]): Node {
  return nodes.reduce((best, node) => (rendezvousScore(key, node.id) > rendezvousScore(key, best.id) ? node : best));
}

test("one node: calls address entities by key, turns run one at a time, state outlives the node", async (t) => {
  const storeDir = join(dir, "single");
  const server = await startNode({ name: "single", listen: "tcp://127.0.0.1:0" });
  const served = await serveCounter(server, undefined, undefined, { dir: storeDir });
  const caller = await startNode({ name: "single-caller" });
  t.after(() => Promise.all([caller.close(), server.close()]));
  await caller.connect(server.addresses[0]!);
  const counters = entities(caller, Counter);
  // 40 adds at once on one key and 10 on another: no add is lost.
  const results = await Promise.all([
    ...Array.from({ length: 40 }, () => counters.for("a").add({ by: 1 })),
    ...Array.from({ length: 10 }, () => counters.for("b").add({ by: 2 })),
  ]);
  assert.deepEqual(
    results.slice(0, 40).map((r) => r.value).sort((x, y) => x - y),
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  assert.deepEqual(await counters.for("a").get({}), { value: 40, node: "single" });
  assert.deepEqual(await counters.for("b").get({}), { value: 20, node: "single" });
  assert.deepEqual(served.keys().sort(), ["a", "b"]);

  // A write turn that throws keeps nothing of what it did to the state.
  await assert.rejects(counters.for("a").fail({}), (error: unknown) => isRpcError(error) && /the turn failed/.test(error.message));
  assert.equal((await counters.for("a").get({})).value, 40);

  // A call that names no entity is refused, unprocessed, saying how to address one.
  await assert.rejects(caller.client(Counter).get({}), (error: unknown) => isRpcError(error) && error.code === "INVALID_ARGUMENT" && error.unprocessed && /entities\(node, counter\)\.for\(key\)/.test(error.message));
  assert.throws(() => counters.for(""), TypeError);

  // The state is in the directory: a new node on it goes on from there.
  await served.stop();
  await server.close();
  const again = await startNode({ name: "single-again", listen: "tcp://127.0.0.1:0" });
  t.after(() => again.close());
  await serveCounter(again, undefined, undefined, { dir: storeDir });
  await caller.connect(again.addresses[0]!);
  assert.deepEqual(await counters.for("a").add({ by: 1 }), { value: 41, node: "single-again" });
});

test("a read-only method may not assign the state; read turns of one key run together, writes alone", async (t) => {
  const Probe = contract("probe", "1.0.0", {
    read: unary({ input: z.object({}), output: z.number() }),
    write: unary({ input: z.object({}), output: z.number() }),
    assign: unary({ input: z.object({}), output: z.number() }),
  });
  let running = 0;
  let readersTogether = 0;
  let writersTogether = 0;
  const node = await startNode({ name: "probe" });
  t.after(() => node.close());
  const store = await openDirectoryStore({ dir: join(dir, "probe") });
  t.after(() => store.close());
  const served = await serveEntity(node, Probe, {
    store,
    initial: () => 0,
    readOnly: ["read", "assign"],
    handlers: {
      async read(_input, entity) {
        running++;
        readersTogether = Math.max(readersTogether, running);
        await sleep(30);
        running--;
        return entity.state;
      },
      async write(_input, entity) {
        running++;
        writersTogether = Math.max(writersTogether, running);
        await sleep(5);
        running--;
        entity.state += 1;
        return entity.state;
      },
      assign(_input, entity) {
        entity.state = 99;
        return 0;
      },
    },
  });
  t.after(() => served.stop());
  const probe = entities(node, Probe).for("p");
  await probe.write({});
  await Promise.all(Array.from({ length: 6 }, () => probe.read({})));
  await Promise.all(Array.from({ length: 6 }, () => probe.write({})));
  assert.ok(readersTogether >= 2, `reads of one key ran together (${readersTogether} at most)`);
  assert.equal(writersTogether, 1);
  await assert.rejects(probe.assign({}), /only a getter|Cannot set property state/);
  assert.equal(await probe.read({}), 7);
});

test("calls go straight to the key's owner by rendezvous over the look-up; each key is active on one node", async (t) => {
  const { servers, caller } = await cluster(t, 3);
  const store = await openDirectoryStore({ dir: join(dir, "owners") });
  t.after(() => store.close());
  const seen = { turns: new Map<string, number>(), forwarded: 0 };
  const served = await Promise.all(servers.map((node) => serveCounter(node, store, seen)));
  await allSee([caller, ...servers], 3);
  const counters = entities(caller, Counter);
  const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
  for (const key of keys) {
    const result = await counters.for(key).add({ by: 1 });
    assert.equal(result.node, ownerAmong(key, servers).name, `key ${key} ran on its owner`);
  }
  assert.equal(seen.forwarded, 0, "no call needed passing on");
  const active = served.map((s) => s.keys());
  assert.deepEqual(active.flat().sort(), [...keys].sort(), "each key is active on exactly one node");
  assert.ok(active.every((list) => list.length > 5), `the keys spread over the nodes (${active.map((l) => l.length).join(", ")})`);
});

test("a node that does not own a key passes the call on to its owner, once", async (t) => {
  const { servers } = await cluster(t, 3);
  const store = await openDirectoryStore({ dir: join(dir, "forward") });
  t.after(() => store.close());
  const seen = { turns: new Map<string, number>(), forwarded: 0 };
  await Promise.all(servers.map((node) => serveCounter(node, store, seen)));
  await allSee(servers, 3);
  // A caller that knows one node only, connected by hand: that node passes on what it does not own.
  const outside = await startNode({ name: "outside" });
  t.after(() => outside.close());
  await outside.connect(servers[0]!.addresses[0]!);
  const counters = entities(outside, Counter);
  const keys = Array.from({ length: 30 }, (_, i) => `f${i}`);
  for (const key of keys) assert.equal((await counters.for(key).add({ by: 1 })).node, ownerAmong(key, servers).name);
  const notFirst = keys.filter((key) => ownerAmong(key, servers) !== servers[0]).length;
  assert.ok(notFirst > 0);
  assert.equal(seen.forwarded, notFirst, "every call for a key s0 does not own was passed on once");
});

test("hand-off: a node that closes gives its keys up, a node that joins takes its share; no add is lost", async (t) => {
  const { servers, caller, name } = await cluster(t, 3);
  const store = await openDirectoryStore({ dir: join(dir, "handoff") });
  t.after(() => store.close());
  const served = await Promise.all(servers.map((node) => serveCounter(node, store)));
  await allSee([caller, ...servers], 3);
  const counters = entities(caller, Counter, { idempotencyKeys: true });
  const keys = Array.from({ length: 40 }, (_, i) => `h${i}`);
  const expected = new Map(keys.map((key) => [key, 0]));
  const round = async (): Promise<void> => {
    await Promise.all(
      keys.map(async (key) => {
        await counters.for(key).add({ by: 1 });
        expected.set(key, expected.get(key)! + 1);
      }),
    );
  };
  await round();
  const leaving = servers[1]!;
  const itsKeys = served[1]!.keys();
  assert.ok(itsKeys.length > 0);
  // Calls keep coming while the node closes.
  const during = round();
  await leaving.close();
  await during;
  assert.deepEqual(served[1]!.keys(), [], "the closed node gave every key up");
  await eventually("the caller no longer sees the closed node", () => caller.lookup(Counter).length === 2);
  await round();
  for (const key of itsKeys) assert.ok(served[0]!.keys().includes(key) || served[2]!.keys().includes(key), `${key} moved to a node still serving`);

  // A new node joins: the keys it now owns move to it.
  const joined = await startNode({ name: "s3", cluster: name, listen: "tcp://127.0.0.1:0", lookup: fast });
  const joinedServed = await serveCounter(joined, store);
  const live = [servers[0]!, servers[2]!, joined];
  await allSee([caller, ...live], 3);
  await eventually("every server sees the new one", () => live.every((node) => node.lookup(Counter).length === 3));
  await round();
  const moved = keys.filter((key) => ownerAmong(key, live) === joined);
  assert.ok(moved.length > 0);
  assert.deepEqual(joinedServed.keys().sort(), [...moved].sort(), "the new node holds exactly the keys it owns");
  await eventually("the old owners let the moved keys go", () => moved.every((key) => !served[0]!.keys().includes(key) && !served[2]!.keys().includes(key)));
  for (const key of keys) assert.equal((await counters.for(key).get({})).value, expected.get(key), `${key} kept every add`);
  await joined.close();
});

test("an idempotency key runs its call once, and its record moves with the entity", async (t) => {
  const { servers, caller } = await cluster(t, 2);
  const store = await openDirectoryStore({ dir: join(dir, "idempotency") });
  t.after(() => store.close());
  const served = await Promise.all(servers.map((node) => serveCounter(node, store)));
  await allSee([caller, ...servers], 2);
  const counter = entities(caller, Counter).for("once");
  const first = await counter.add({ by: 5 }, { idempotencyKey: "order-1" });
  const again = await counter.add({ by: 5 }, { idempotencyKey: "order-1" });
  assert.deepEqual(again, first, "the second call got the recorded result");
  assert.equal((await counter.get({})).value, 5);
  // The owner closes; at the next owner the key's record is still there.
  const owner = servers.find((node) => node.name === first.node)!;
  await owner.close();
  await eventually("the caller sees one counter", () => caller.lookup(Counter).length === 1);
  const afterHandOff = await counter.add({ by: 5 }, { idempotencyKey: "order-1" });
  assert.deepEqual(afterHandOff, first);
  const now = await counter.get({});
  assert.equal(now.value, 5);
  assert.notEqual(now.node, first.node);
  assert.equal((await counter.add({ by: 1 }, { idempotencyKey: "order-2" })).value, 6);
  assert.ok(served.some((s) => s.keys().includes("once")));
});

test("the default directory store is one node's: with a second node serving the type, calls are refused", async (t) => {
  const { servers, caller } = await cluster(t, 2);
  await serveCounter(servers[0]!, undefined, undefined, { dir: join(dir, "own-0") });
  await serveCounter(servers[1]!, undefined, undefined, { dir: join(dir, "own-1") });
  await allSee([caller, ...servers], 2);
  await assert.rejects(
    entities(caller, Counter).for("x").add({ by: 1 }),
    (error: unknown) => isRpcError(error) && error.code === "FAILED_PRECONDITION" && /one shared store/.test(error.message),
  );
});

test("a singleton lives on one node at a time, moves when that node closes, and keeps its state", async (t) => {
  const Sequencer = contract("sequencer", "1.0.0", { next: unary({ input: z.object({}), output: z.object({ n: z.number(), node: z.string() }) }) });
  const { servers, caller } = await cluster(t, 3);
  const store = await openDirectoryStore({ dir: join(dir, "singleton") });
  t.after(() => store.close());
  const served = await Promise.all(
    servers.map((node) =>
      serveSingleton(node, Sequencer, { store, initial: () => 0, handlers: { next: (_input, seq, ctx) => ({ n: ++seq.state, node: ctx.node }) } }),
    ),
  );
  await eventually("every node sees three sequencers", () => [caller, ...servers].every((node) => node.lookup(Sequencer).length === 3));
  const sequencer = singleton(caller, Sequencer);
  const first = await Promise.all(Array.from({ length: 20 }, () => sequencer.next({})));
  assert.deepEqual(first.map((r) => r.n).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(new Set(first.map((r) => r.node)).size, 1, "one node ran every call");
  assert.equal(served.filter((s) => s.keys().length > 0).length, 1, "one activation in the cluster");
  // From a handler of another node too: the same one entity.
  assert.equal((await singleton(servers[2]!, Sequencer).next({})).n, 21);
  const owner = servers.find((node) => node.name === first[0]!.node)!;
  await owner.close();
  await eventually("the caller sees two sequencers", () => caller.lookup(Sequencer).length === 2);
  const after = await sequencer.next({});
  assert.equal(after.n, 22, "the next owner went on from the saved state");
  assert.notEqual(after.node, owner.name);
  await assert.rejects(entities(caller, Sequencer).for("another").next({}), (error: unknown) => isRpcError(error) && error.code === "INVALID_ARGUMENT" && /is a singleton/.test(error.message));
});
