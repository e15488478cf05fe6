/**
 * The state-store conformance suite: every entity store (directory, Redis,
 * PostgreSQL, NATS KV) runs the same cases through `runStoreConformance`, so
 * the entity layer can rely on one behaviour whatever the backend.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RpcError } from "../../src/rpc/rpc-error.ts";
import {
  decodeEntityDocument,
  encodeEntityDocument,
  findCompleted,
  recordCompleted,
  LeaseHeldError,
  StaleOwnerError,
  StoreError,
  VersionConflictError,
  type EntityStore,
} from "../../src/entity/index.ts";
import { requireOrSkip } from "../support/require.ts";

/** Two clients of one backend (two connections, or two stores on one directory), and how to drop them. */
export interface StoreClients {
  a: EntityStore;
  b: EntityStore;
  close(): Promise<void>;
}

/** Options of {@link runStoreConformance}. */
export interface StoreConformanceOptions {
  /** Why the store cannot run here; undefined when it can. */
  missing?: string;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array | undefined): string | undefined => (data === undefined ? undefined : new TextDecoder().decode(data));

async function rejectsWith(promise: Promise<unknown>, check: (error: unknown) => boolean, what: string): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    assert.ok(check(error), `${what}: got ${String((error as Error)?.stack ?? error)}`);
    return error;
  }
  assert.fail(`${what}: expected a rejection`);
}

/** Runs every case against the store `makeClients` opens. */
export function runStoreConformance(name: string, makeClients: () => Promise<StoreClients>, options: StoreConformanceOptions = {}): void {
  async function withStores(t: TestContext, body: (a: EntityStore, b: EntityStore, key: (name: string) => string) => Promise<void>): Promise<void> {
    if (!requireOrSkip(t, options.missing === undefined, options.missing ?? "")) return;
    const clients = await makeClients();
    const prefix = randomBytes(6).toString("hex");
    try {
      await body(clients.a, clients.b, (name) => `${prefix}/${name}`);
    } finally {
      await clients.close();
    }
  }

  describe(`entity store conformance: ${name}`, () => {
    test("a key never saved loads as version 0 with no data", (t) =>
      withStores(t, async (a, _b, key) => {
        assert.deepEqual(await a.load(key("nothing")), { data: undefined, version: 0, token: 0 });
      }));

    test("save creates at version 0, then compare-and-set on the version; a conflict writes nothing", (t) =>
      withStores(t, async (a, b, key) => {
        const k = key("cas");
        const v1 = await a.save(k, bytes("one"), { expectedVersion: 0, token: 1 });
        assert.ok(v1 > 0);
        const loaded = await b.load(k);
        assert.equal(text(loaded.data), "one");
        assert.equal(loaded.version, v1);
        assert.equal(loaded.token, 1);
        const v2 = await b.save(k, bytes("two"), { expectedVersion: v1, token: 1 });
        assert.ok(v2 > v1, "versions grow");
        const conflict = await rejectsWith(a.save(k, bytes("lost"), { expectedVersion: v1, token: 1 }), (e) => e instanceof VersionConflictError, "stale version");
        assert.ok(conflict instanceof StoreError && conflict instanceof RpcError);
        assert.equal((conflict as StoreError).code, "ABORTED");
        assert.equal((conflict as StoreError).storeCode, "VERSION_CONFLICT");
        assert.deepEqual((conflict as StoreError).details, { key: k, expected: v1, actual: v2 });
        await rejectsWith(a.save(k, bytes("again"), { expectedVersion: 0, token: 1 }), (e) => e instanceof VersionConflictError, "create over an existing key");
        const after = await a.load(k);
        assert.equal(text(after.data), "two");
        assert.equal(after.version, v2);
      }));

    test("fencing: once a newer token wrote, an older token's write is refused even at the right version", (t) =>
      withStores(t, async (a, b, key) => {
        const k = key("fence");
        const v1 = await a.save(k, bytes("old owner"), { expectedVersion: 0, token: 3 });
        const v2 = await b.save(k, bytes("new owner"), { expectedVersion: v1, token: 4 });
        const stale = await rejectsWith(a.save(k, bytes("partitioned"), { expectedVersion: v2, token: 3 }), (e) => e instanceof StaleOwnerError, "old token");
        assert.equal((stale as StoreError).code, "FAILED_PRECONDITION");
        assert.equal((stale as StoreError).storeCode, "STALE_OWNER");
        await rejectsWith(a.delete(k, { expectedVersion: v2, token: 3 }), (e) => e instanceof StaleOwnerError, "old token's delete");
        // The stale error wins over a version conflict: the old owner learns it lost the key.
        await rejectsWith(a.save(k, bytes("partitioned"), { expectedVersion: v1, token: 3 }), (e) => e instanceof StaleOwnerError, "old token, old version");
        const after = await a.load(k);
        assert.equal(text(after.data), "new owner");
        assert.equal(after.token, 4);
        // The same token may go on writing; a newer one may take over.
        const v3 = await b.save(k, bytes("new owner 2"), { expectedVersion: v2, token: 4 });
        await a.save(k, bytes("third owner"), { expectedVersion: v3, token: 9 });
      }));

    test("delete leaves a tombstone: versioned, fenced, and the key can be saved again only from it", (t) =>
      withStores(t, async (a, b, key) => {
        const k = key("delete");
        const v1 = await a.save(k, bytes("x"), { expectedVersion: 0, token: 2 });
        await rejectsWith(a.delete(k, { expectedVersion: 0, token: 2 }), (e) => e instanceof VersionConflictError, "delete at a wrong version");
        const v2 = await a.delete(k, { expectedVersion: v1, token: 2 });
        const gone = await b.load(k);
        assert.equal(gone.data, undefined);
        assert.equal(gone.version, v2);
        assert.ok(v2 > v1);
        await rejectsWith(b.save(k, bytes("back"), { expectedVersion: 0, token: 2 }), (e) => e instanceof VersionConflictError, "create over a tombstone");
        await rejectsWith(b.save(k, bytes("back"), { expectedVersion: v2, token: 1 }), (e) => e instanceof StaleOwnerError, "older token over a tombstone");
        const v3 = await b.save(k, bytes("back"), { expectedVersion: v2, token: 2 });
        assert.equal(text((await a.load(k)).data), "back");
        assert.ok(v3 > v2);
      }));

    test("leases: one holder; the same owner extends; release lets another in with a greater token", (t) =>
      withStores(t, async (a, b, key) => {
        const k = key("lease");
        const first = await a.acquire(k, "node-a", 10_000);
        assert.equal(first.owner, "node-a");
        assert.ok(first.token >= 1);
        assert.ok(first.validUntil > Date.now() + 5_000);
        const held = await rejectsWith(b.acquire(k, "node-b", 10_000), (e) => e instanceof LeaseHeldError, "a held lease");
        assert.equal((held as StoreError).code, "FAILED_PRECONDITION");
        assert.deepEqual((held as StoreError).details, { name: k, owner: "node-a", token: first.token });
        const again = await a.acquire(k, "node-a", 10_000);
        assert.equal(again.token, first.token, "re-acquiring a held lease keeps its token");
        const renewed = await a.renew(first, 10_000);
        assert.equal(renewed.token, first.token);
        await a.release(renewed);
        const second = await b.acquire(k, "node-b", 10_000);
        assert.ok(second.token > first.token);
        // Releasing a lease one no longer holds does nothing to the holder.
        await a.release(first);
        await rejectsWith(a.acquire(k, "node-a", 10_000), (e) => e instanceof LeaseHeldError, "after a stale release");
        // Tokens keep growing over holdings, whoever holds.
        let last = second;
        for (let i = 0; i < 4; i++) {
          const store = i % 2 === 0 ? a : b;
          await store.release(last);
          const next = await store.acquire(k, `node-${i}`, 10_000);
          assert.ok(next.token > last.token);
          last = next;
        }
      }));

    test("lease expiry: another owner takes over; the old holder cannot renew, and its writes are fenced off", (t) =>
      withStores(t, async (a, b, key) => {
        const k = key("expiry");
        const old = await a.acquire(k, "node-a", 150);
        const v1 = await a.save(k, bytes("by a"), { expectedVersion: 0, token: old.token });
        // Bounded: the lease is gone well within 3 s on every store.
        let taken;
        for (const until = Date.now() + 3_000; !taken; ) {
          try {
            taken = await b.acquire(k, "node-b", 10_000);
          } catch (error) {
            if (!(error instanceof LeaseHeldError) || Date.now() > until) throw error;
            await sleep(50);
          }
        }
        assert.ok(taken.token > old.token);
        await rejectsWith(a.renew(old, 10_000), (e) => e instanceof StaleOwnerError, "renewing a lease taken over");
        // The new owner's first write fences the old one off.
        const loaded = await b.load(k);
        assert.equal(loaded.version, v1);
        const v2 = await b.save(k, loaded.data!, { expectedVersion: v1, token: taken.token });
        await rejectsWith(a.save(k, bytes("by a, late"), { expectedVersion: v2, token: old.token }), (e) => e instanceof StaleOwnerError, "old holder's write");
        // A lease that expired but that no one took may be renewed, and keeps its token.
        const lonely = await a.acquire(key("lonely"), "node-a", 100);
        await sleep(250);
        const kept = await a.renew(lonely, 10_000);
        assert.equal(kept.token, lonely.token);
        // A holder that lets its lease expire and takes it again gets a new token.
        const short = await a.acquire(key("short"), "node-a", 100);
        await sleep(250);
        const retaken = await a.acquire(key("short"), "node-a", 10_000);
        assert.ok(retaken.token > short.token);
      }));

    test("idempotency records: claim, running, done with the result, gone after the retention window", (t) =>
      withStores(t, async (a, b, key) => {
        const k = key("idem");
        const begun = await a.idempotency.begin(k, 10_000);
        assert.equal(begun.status, "started");
        assert.deepEqual(await b.idempotency.begin(k, 10_000), { status: "running" });
        if (begun.status !== "started") return;
        await a.idempotency.complete(k, begun.claim, bytes("result 1"), 300);
        const done = await b.idempotency.begin(k, 10_000);
        assert.equal(done.status, "done");
        assert.equal(done.status === "done" ? text(done.result) : "", "result 1");
        // Completing twice, or with another claim, is refused.
        await rejectsWith(a.idempotency.complete(k, begun.claim, bytes("result 2"), 300), (e) => e instanceof StaleOwnerError, "completing twice");
        let fresh;
        for (const until = Date.now() + 3_000; fresh?.status !== "started"; ) {
          assert.ok(Date.now() < until, "the record outlived its retention window");
          await sleep(50);
          fresh = await b.idempotency.begin(k, 10_000);
        }
        // Abandoning a claim lets the next call run; abandoning someone else's claim does nothing.
        const other = key("abandon");
        const c1 = await a.idempotency.begin(other, 10_000);
        assert.equal(c1.status, "started");
        if (c1.status !== "started") return;
        await b.idempotency.abandon(other, "not-the-claim");
        assert.deepEqual(await b.idempotency.begin(other, 10_000), { status: "running" });
        await a.idempotency.abandon(other, c1.claim);
        const c2 = await b.idempotency.begin(other, 10_000);
        assert.equal(c2.status, "started");
        // A claim whose hold ended is lost: its completion is refused once another call claimed the key.
        const lapsed = key("lapsed");
        const h1 = await a.idempotency.begin(lapsed, 100);
        await sleep(250);
        const h2 = await b.idempotency.begin(lapsed, 10_000);
        assert.equal(h2.status, "started");
        if (h1.status !== "started") return;
        await rejectsWith(a.idempotency.complete(lapsed, h1.claim, bytes("late"), 1_000), (e) => e instanceof StaleOwnerError, "a lapsed claim");
      }));

    test("an entity's idempotency records live in its saved state and survive a hand-off to another client", (t) =>
      withStores(t, async (a, b, key) => {
        const k = key("cart");
        const start = Date.now();
        let completed = recordCompleted([], { id: "call-1", at: start, result: { total: 3 } }, start, 60_000, 100);
        completed = recordCompleted(completed, { id: "call-2", at: start + 1, result: { total: 5 } }, start + 1, 60_000, 100);
        const lease = await a.acquire(k, "node-a", 10_000);
        const v1 = await a.save(k, encodeEntityDocument({ state: { items: 5 }, completed }), { expectedVersion: 0, token: lease.token });
        await a.release(lease);
        const next = await b.acquire(k, "node-b", 10_000);
        const loaded = await b.load(k);
        assert.equal(loaded.version, v1);
        const document = decodeEntityDocument(loaded.data!);
        assert.deepEqual(document.state, { items: 5 });
        assert.deepEqual(findCompleted(document.completed, "call-2", Date.now(), 60_000)?.result, { total: 5 });
        assert.equal(findCompleted(document.completed, "call-3", Date.now(), 60_000), undefined);
        await b.save(k, loaded.data!, { expectedVersion: v1, token: next.token });
      }));

    test("two clients incrementing one counter with compare-and-set lose no increment", (t) =>
      withStores(t, async (a, b, key) => {
        const k = key("counter");
        const perClient = 40;
        let conflicts = 0;
        const writer = async (store: EntityStore): Promise<void> => {
          let done = 0;
          // Bounded: at most 40 tries per increment and 30 s in all.
          for (let tries = 0, until = Date.now() + 30_000; done < perClient; tries++) {
            assert.ok(tries < perClient * 40 && Date.now() < until, "the writers made no progress");
            const current = await store.load(k);
            const value = current.data === undefined ? 0 : Number(text(current.data));
            try {
              await store.save(k, bytes(String(value + 1)), { expectedVersion: current.version, token: 1 });
              done++;
            } catch (error) {
              if (!(error instanceof VersionConflictError)) throw error;
              conflicts++;
            }
          }
        };
        await Promise.all([writer(a), writer(b)]);
        assert.equal(text((await a.load(k)).data), String(2 * perClient));
        t.diagnostic(`${conflicts} conflicts retried`);
      }));

    test("large values go byte for byte; a value over the limit is refused with a typed error", (t) =>
      withStores(t, async (a, b, key) => {
        const k = key("large");
        const big = randomBytes(700 * 1024);
        const v1 = await a.save(k, big, { expectedVersion: 0, token: 1 });
        const loaded = await b.load(k);
        assert.ok(loaded.data !== undefined && Buffer.from(loaded.data).equals(big));
        const tooBig = new Uint8Array(a.limits.maxValueBytes + 1);
        const error = await rejectsWith(a.save(k, tooBig, { expectedVersion: v1, token: 1 }), (e) => e instanceof StoreError && e.storeCode === "TOO_LARGE", "an oversized value");
        assert.equal((error as StoreError).code, "RESOURCE_EXHAUSTED");
        assert.equal((await a.load(k)).version, v1);
        const empty = await a.save(key("empty"), new Uint8Array(0), { expectedVersion: 0, token: 1 });
        const loadedEmpty = await b.load(key("empty"));
        assert.equal(loadedEmpty.version, empty);
        assert.equal(loadedEmpty.data?.length, 0);
      }));

    test("keys of any shape are distinct; bad keys, tokens and values get typed INVALID_ARGUMENT errors", async (t) =>
      withStores(t, async (a, b, key) => {
        const shapes = ["a/b", "a_b", "a.b", "a:b", "a b", "ü-ключ-🔑", "A/B", "*", ">", "a..b"].map(key);
        for (const [i, k] of shapes.entries()) await a.save(k, bytes(String(i)), { expectedVersion: 0, token: 1 });
        for (const [i, k] of shapes.entries()) assert.equal(text((await b.load(k)).data), String(i), k);
        const bad: unknown[] = ["", "__proto__", "constructor", "x".repeat(a.limits.maxKeyBytes + 1), "a\u0000b", "line\nbreak", "\ud800", 42, undefined];
        const isBadInput = (e: unknown): boolean => e instanceof StoreError && e.storeCode === "BAD_INPUT" && e.code === "INVALID_ARGUMENT";
        for (const k of bad) {
          const what = `key ${JSON.stringify(k)}`;
          await rejectsWith(Promise.resolve().then(() => a.load(k as string)), isBadInput, `load ${what}`);
          await rejectsWith(Promise.resolve().then(() => a.save(k as string, bytes("x"), { expectedVersion: 0, token: 1 })), isBadInput, `save ${what}`);
          await rejectsWith(Promise.resolve().then(() => a.delete(k as string, { expectedVersion: 0, token: 1 })), isBadInput, `delete ${what}`);
          await rejectsWith(Promise.resolve().then(() => a.acquire(k as string, "node-a", 1_000)), isBadInput, `acquire ${what}`);
          await rejectsWith(Promise.resolve().then(() => a.idempotency.begin(k as string, 1_000)), isBadInput, `begin ${what}`);
        }
        const k = key("fine");
        for (const token of [0, -1, 1.5, Number.NaN, "1"]) {
          await rejectsWith(Promise.resolve().then(() => a.save(k, bytes("x"), { expectedVersion: 0, token: token as number })), isBadInput, `token ${String(token)}`);
        }
        await rejectsWith(Promise.resolve().then(() => a.save(k, bytes("x"), { expectedVersion: -1, token: 1 })), isBadInput, "version -1");
        await rejectsWith(Promise.resolve().then(() => a.save(k, "text" as unknown as Uint8Array, { expectedVersion: 0, token: 1 })), isBadInput, "a string value");
        await rejectsWith(Promise.resolve().then(() => a.acquire(k, "", 1_000)), isBadInput, "an empty owner");
        await rejectsWith(Promise.resolve().then(() => a.acquire(k, "node-a", 0)), isBadInput, "a zero TTL");
        await rejectsWith(Promise.resolve().then(() => a.renew({ name: k, owner: "node-a", token: 0, validUntil: 0 }, 1_000)), isBadInput, "a lease with token 0");
        assert.equal((await a.load(k)).version, 0, "nothing was written");
      }));

    test("a closed store refuses use with a typed error", (t) =>
      withStores(t, async (a, _b, key) => {
        await a.close();
        await rejectsWith(Promise.resolve().then(() => a.load(key("x"))), (e) => e instanceof StoreError && e.storeCode === "UNUSABLE", "load after close");
        await a.close();
      }));
  });
}
