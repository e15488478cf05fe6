// kill -9 of nats-server right after acknowledged saves: restarted on the same store directory, the
// bucket holds every acknowledged save. (nats-server 2.10 and later are run with sync_interval: always;
// older ones know no such setting and are run with their defaults.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openNatsKvStore, type EntityStore } from "../../src/entity/index.ts";
import { requireOrSkip } from "../support/require.ts";
import { natsMissing, startNatsServer, type NatsServer } from "../support/nats-server.ts";

const version = natsMissing ? "" : (/v(\d+)\.(\d+)/.exec(spawnSync("nats-server", ["--version"], { encoding: "utf8" }).stdout) ?? []).slice(1).map(Number);
const syncs = Array.isArray(version) && (version[0]! > 2 || (version[0] === 2 && version[1]! >= 10));

async function start(dir: string, port?: number): Promise<NatsServer> {
  const config = `jetstream { store_dir: "${dir}"${syncs ? ", sync_interval: always" : ""} }\n`;
  return startNatsServer({ config, ...(port === undefined ? {} : { port }) });
}

test("nats-kv: acknowledged saves survive kill -9 of the server", async (t) => {
  if (!requireOrSkip(t, natsMissing === undefined, natsMissing ?? "")) return;
  const dir = mkdtempSync(join(tmpdir(), "amoeba-entity-natskill-"));
  let server = await start(dir);
  let store: EntityStore | undefined;
  try {
    store = await openNatsKvStore({ servers: server.url, bucket: "crash" });
    const acked = new Map<string, number>();
    // 20 keys × 10 saves, each acknowledged before the next.
    for (let round = 1; round <= 10; round++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const key = `key-${i}`;
          const saved = await store!.save(key, new TextEncoder().encode(`${key}@${round}`), { expectedVersion: acked.get(key) ?? 0, token: 1 });
          acked.set(key, saved);
        }),
      );
    }
    await server.kill();
    await store.close();
    server = await start(dir, server.port);
    store = await openNatsKvStore({ servers: server.url, bucket: "crash" });
    for (const [key, ackedVersion] of acked) {
      const loaded = await store.load(key);
      assert.equal(loaded.version, ackedVersion, `${key}: the acknowledged version ${ackedVersion} was lost`);
      assert.equal(new TextDecoder().decode(loaded.data), `${key}@10`);
    }
    t.diagnostic(`nats-server ${Array.isArray(version) ? version.join(".") : "?"}, sync_interval ${syncs ? "always" : "not supported (defaults)"}`);
  } finally {
    await store?.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
