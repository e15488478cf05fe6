/**
 * The activations of an entity type kept in a store, two "nodes" sharing one store:
 * turns, idempotency across a hand-off, one owner at a time, and fencing of a paused old owner.
 * Every store runs it (`runStoredEntitiesSuite`).
 */
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { StoreError, StoredEntities, type EntityStore } from "../../src/entity/index.ts";
import { RpcError } from "../../src/rpc/rpc-error.ts";
import { requireOrSkip } from "../support/require.ts";
import type { StoreClients } from "./store-suite.ts";

interface Cart {
  items: string[];
}

const cart = (store: EntityStore, owner: string, leaseMs = 10_000) =>
  new StoredEntities<Cart>({ store, owner, initial: () => ({ items: [] }), leaseMs, retainMs: 60_000 });

const add = (item: string) => (state: Cart) => ({ state: { items: [...state.items, item] }, result: state.items.length + 1 });

/** A store whose lease renewals and acquisitions fail while `cut` (a node partitioned from the lease, not from the state). */
function partitionable(store: EntityStore): EntityStore & { cut: boolean } {
  const wrapped = {
    cut: false,
    kind: store.kind,
    limits: store.limits,
    idempotency: store.idempotency,
    load: (key: string) => store.load(key),
    save: (key: string, data: Uint8Array, fence: Parameters<EntityStore["save"]>[2]) => store.save(key, data, fence),
    delete: (key: string, fence: Parameters<EntityStore["delete"]>[1]) => store.delete(key, fence),
    acquire: (name: string, owner: string, ttl: number) => (wrapped.cut ? Promise.reject(new StoreError("UNAVAILABLE", "partitioned")) : store.acquire(name, owner, ttl)),
    renew: (lease: Parameters<EntityStore["renew"]>[0], ttl: number) => (wrapped.cut ? Promise.reject(new StoreError("UNAVAILABLE", "partitioned")) : store.renew(lease, ttl)),
    release: (lease: Parameters<EntityStore["release"]>[0]) => store.release(lease),
    close: () => store.close(),
  };
  return wrapped;
}

const unprocessedNotOwner = (reason: string) => (error: unknown) =>
  error instanceof RpcError && error.code === "UNAVAILABLE" && error.unprocessed && (error.details as { reason?: string })?.reason === reason;

/** Runs the cases on two clients of the store `makeClients` opens (each case under keys of its own run). */
export function runStoredEntitiesSuite(name: string, makeClients: () => Promise<StoreClients>, missing?: string): void {
  async function open(t: TestContext): Promise<StoreClients | undefined> {
    if (!requireOrSkip(t, missing === undefined, missing ?? "")) return undefined;
    return makeClients();
  }

  describe(`stored entities: ${name}`, () => {
    test("write turns run one at a time and are saved before they answer; a new node reads them back", async (t) => {
      const clients = await open(t);
      if (!clients) return;
      const { a: storeA, b: storeB } = clients;
      try {
        const a = cart(storeA, "node-a");
        const results = await Promise.all(Array.from({ length: 30 }, (_, i) => a.write("cart/1", add(`item-${i}`))));
        assert.deepEqual(results, Array.from({ length: 30 }, (_, i) => i + 1));
        assert.equal(await a.read("cart/1", (state) => state.items.length), 30);
        await a.close();
        const b = cart(storeB, "node-b");
        assert.deepEqual(await b.read("cart/1", (state) => state.items), Array.from({ length: 30 }, (_, i) => `item-${i}`));
        await b.close();
      } finally {
        await clients.close();
      }
    });

    test("an idempotency key runs its call once, and its record moves with the entity to the next owner", async (t) => {
      const clients = await open(t);
      if (!clients) return;
      const { a: storeA, b: storeB } = clients;
      try {
        let runs = 0;
        const counted = (item: string) => (state: Cart) => (runs++, add(item)(state));
        const a = cart(storeA, "node-a");
        assert.equal(await a.write("cart/2", counted("apple"), "op-1"), 1);
        assert.equal(await a.write("cart/2", counted("apple"), "op-1"), 1, "a retry answers the recorded result");
        assert.equal(runs, 1);
        await a.passivate("cart/2"); // the hand-off: the lease is released
        const b = cart(storeB, "node-b");
        assert.equal(await b.write("cart/2", counted("apple"), "op-1"), 1, "the record survived the hand-off");
        assert.equal(runs, 1);
        assert.equal(await b.write("cart/2", counted("pear"), "op-2"), 2);
        assert.deepEqual(await b.read("cart/2", (state) => state.items), ["apple", "pear"]);
        await Promise.all([a.close(), b.close()]);
      } finally {
        await clients.close();
      }
    });

    test("one owner at a time: a second node is refused as unprocessed until the first hands the key off", async (t) => {
      const clients = await open(t);
      if (!clients) return;
      const { a: storeA, b: storeB } = clients;
      try {
        const a = cart(storeA, "node-a");
        const b = cart(storeB, "node-b");
        await a.write("cart/3", add("x"));
        await assert.rejects(b.write("cart/3", add("y")), unprocessedNotOwner("LEASE_HELD"));
        await a.passivate("cart/3");
        assert.equal(await b.write("cart/3", add("y")), 2);
        await assert.rejects(a.write("cart/3", add("z")), unprocessedNotOwner("LEASE_HELD"));
        await Promise.all([a.close(), b.close()]);
      } finally {
        await clients.close();
      }
    });

    test("fencing: an owner paused past its lease cannot save once the next owner claimed the key", async (t) => {
      const clients = await open(t);
      if (!clients) return;
      const { a: rawA, b: storeB } = clients;
      const storeA = partitionable(rawA);
      try {
        const a = cart(storeA, "node-a", 300);
        const b = cart(storeB, "node-b");
        await a.write("cart/4", add("from a"));
        // A is cut off from its lease and pauses inside a turn (a long GC, a stalled handler).
        storeA.cut = true;
        let resume!: () => void;
        const paused = new Promise<void>((resolve) => (resume = resolve));
        const stale = a.write("cart/4", async (state) => {
          await paused;
          return add("from a, late")(state);
        });
        // B takes the key once A's lease expired (bounded: 5 s).
        let written: number | undefined;
        for (const until = Date.now() + 5_000; written === undefined; ) {
          try {
            written = await b.write("cart/4", add("from b"));
          } catch (error) {
            if (!unprocessedNotOwner("LEASE_HELD")(error) || Date.now() > until) throw error;
            await sleep(50);
          }
        }
        assert.equal(written, 2);
        resume();
        await assert.rejects(stale, unprocessedNotOwner("STALE_OWNER"));
        assert.deepEqual(await b.read("cart/4", (state) => state.items), ["from a", "from b"]);
        const loaded = await storeB.load("cart/4");
        assert.ok(loaded.token > 1, "B wrote with a newer token");
        await Promise.all([a.close(), b.close()]);
      } finally {
        await clients.close();
      }
    });
  });
}
