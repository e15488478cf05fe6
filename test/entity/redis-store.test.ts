// The Redis store through the conformance suite, against the server on 127.0.0.1:6379 (two connections).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { openRedisStore, StoreError } from "../../src/entity/index.ts";
import { requireOrSkip } from "../support/require.ts";
import { runStoreConformance } from "./store-suite.ts";
import { dropRedisKeys, reachable, REDIS_URL, unusedPort } from "./support.ts";

const up = await reachable(6379);
const missing = up ? undefined : "a Redis server is needed on 127.0.0.1:6379";

runStoreConformance(
  "redis",
  async () => {
    // Each fixture's keys under a prefix of its own, so runs never meet.
    const prefix = `amoeba-test:${randomBytes(6).toString("hex")}:`;
    const a = await openRedisStore({ url: REDIS_URL, prefix });
    const b = await openRedisStore({ url: REDIS_URL, prefix });
    return {
      a,
      b,
      close: async () => {
        await Promise.all([a.close(), b.close()]);
        await dropRedisKeys(prefix);
      },
    };
  },
  { missing },
);

test("redis: requireDurable refuses a server without appendfsync always, and an unreachable server is UNAVAILABLE", async (t) => {
  if (!requireOrSkip(t, up, missing ?? "")) return;
  const probe = await openRedisStore({ url: REDIS_URL });
  await probe.close();
  try {
    const durable = await openRedisStore({ url: REDIS_URL, requireDurable: true });
    // This server is set up to keep writes: nothing to refuse.
    await durable.close();
    t.diagnostic("the server runs with appendfsync always");
  } catch (error) {
    assert.ok(error instanceof StoreError && error.storeCode === "UNUSABLE", String(error));
    assert.match(error.message, /appendfsync/);
  }
  const closedPort = await unusedPort();
  await assert.rejects(openRedisStore({ url: `redis://127.0.0.1:${closedPort}` }), (error: unknown) => error instanceof StoreError && error.code === "UNAVAILABLE");
});
