// Two node processes own carts through StoredEntities on one shared store; a client makes calls
// with idempotency keys, retrying each at either node until it is acknowledged; kill -9 of the node
// that owns the keys. Afterwards every cart holds exactly its acknowledged calls, in order, once each.
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { decodeEntityDocument, openPostgresStore, openRedisStore, type EntityStore } from "../../src/entity/index.ts";
import { requireOrSkip } from "../support/require.ts";
import { IpcChild } from "../support/ipc-child.ts";
import { dropPostgresTables, dropRedisKeys, POSTGRES_URL, reachable, REDIS_URL } from "./support.ts";

const NODE = fileURLToPath(new URL("./fixtures/entity-node.ts", import.meta.url));
type Node = IpcChild<{ name: string }, { cmd: "add"; key: string; item: string; id: string }>;

async function startNode(name: string, kind: string, where: string): Promise<Node> {
  const child = fork(NODE, [name, kind, where], { execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "pipe", "ipc"] });
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? String(code))));
  const ready = await new Promise<{ name: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 20 s`)), 20_000);
    child.once("message", (message: { type?: string; name: string }) => {
      clearTimeout(timer);
      resolve(message);
    });
    void exited.then((how) => reject(new Error(`${name} exited (${how}) before it was ready`)));
  });
  return new IpcChild("entity node", child, ready, exited);
}

async function runKillScenario(t: TestContext, kind: "postgres" | "redis", store: EntityStore, where: string): Promise<void> {
  const nodes = [await startNode("node-a", kind, where), await startNode("node-b", kind, where)];
  const keys = Array.from({ length: 12 }, (_, i) => `cart-${i}`);
  const acked = new Map<string, string[]>(keys.map((key) => [key, []]));
  let retries = 0;
  try {
    /** One logical call: the same idempotency key at every attempt, at either node, until acknowledged (bounded: 15 s). */
    const call = async (key: string, item: string): Promise<void> => {
      const id = `${key}:${item}`;
      for (let attempt = 0, until = Date.now() + 15_000; ; attempt++) {
        // Node a first: it takes the keys, so killing it forces hand-offs.
        const node = nodes[attempt % 2]!;
        if (node.alive) {
          try {
            await node.request({ cmd: "add", key, item, id }, 5_000);
            acked.get(key)!.push(item);
            return;
          } catch (error) {
            // Refused as not the owner, or the node died mid-call (outcome unknown): retry with the same key.
            if (Date.now() > until) throw error;
          }
        }
        retries++;
        await sleep(attempt % 2 === 1 ? 50 : 0);
      }
    };
    let killed = false;
    await Promise.all(
      keys.map(async (key) => {
        for (let i = 0; i < 25; i++) {
          if (!killed && key === "cart-0" && i === 8) {
            killed = true;
            nodes[0]!.child.kill("SIGKILL");
          }
          await call(key, `item-${i}`);
        }
      }),
    );
    assert.equal(await nodes[0]!.exited, "SIGKILL");
    for (const key of keys) {
      const loaded = await store.load(key);
      assert.ok(loaded.data, `${key} was never saved`);
      const items = (decodeEntityDocument(loaded.data).state as { items: string[] }).items;
      assert.deepEqual(items, acked.get(key), `${key}: the saved history differs from the acknowledged calls (lost or doubled)`);
    }
    t.diagnostic(`${kind}: ${keys.length} keys × 25 calls acknowledged, ${retries} retries around the kill`);
  } finally {
    for (const node of nodes) if (node.alive) node.child.kill("SIGKILL");
    await Promise.all(nodes.map((node) => node.exited));
  }
}

test("stored entities on PostgreSQL: kill -9 of the owning node loses no acknowledged call and applies none twice", async (t) => {
  if (!requireOrSkip(t, await reachable(5432), "a PostgreSQL server is needed on 127.0.0.1:5432 (db test, trust auth)")) return;
  const table = `amoeba_test_${randomBytes(5).toString("hex")}`;
  const store = await openPostgresStore({ connectionString: POSTGRES_URL, table });
  try {
    await runKillScenario(t, "postgres", store, table);
  } finally {
    await store.close();
    await dropPostgresTables(table);
  }
});

test("stored entities on Redis: kill -9 of the owning node loses no acknowledged call and applies none twice", async (t) => {
  if (!requireOrSkip(t, await reachable(6379), "a Redis server is needed on 127.0.0.1:6379")) return;
  const prefix = `amoeba-test:${randomBytes(5).toString("hex")}:`;
  const store = await openRedisStore({ url: REDIS_URL, prefix });
  try {
    await runKillScenario(t, "redis", store, prefix);
  } finally {
    await store.close();
    await dropRedisKeys(prefix);
  }
});
