// Stored entities on every store: two "nodes" as two clients of one store.
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { openDirectoryStore, openNatsKvStore, openPostgresStore, openRedisStore } from "../../src/entity/index.ts";
import { natsMissing, startNatsServer, type NatsServer } from "../support/nats-server.ts";
import { runStoredEntitiesSuite } from "./stored-entities-suite.ts";
import { dropPostgresTables, dropRedisKeys, POSTGRES_URL, REDIS_URL, reachable } from "./support.ts";

const root = mkdtempSync(join(tmpdir(), "amoeba-entity-stored-"));
let nats: NatsServer | undefined;
before(async () => {
  if (natsMissing === undefined) nats = await startNatsServer({ args: ["-js", "-sd", join(root, "nats")] });
});
after(async () => {
  await nats?.stop();
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
const unique = (): string => randomBytes(5).toString("hex");

runStoredEntitiesSuite("directory", async () => {
  const dir = join(root, `s${++n}`);
  const a = await openDirectoryStore({ dir });
  const b = await openDirectoryStore({ dir });
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
});

const redisUp = await reachable(6379);
runStoredEntitiesSuite(
  "redis",
  async () => {
    const prefix = `amoeba-test:${unique()}:`;
    const a = await openRedisStore({ url: REDIS_URL, prefix });
    const b = await openRedisStore({ url: REDIS_URL, prefix });
    return { a, b, close: async () => (await Promise.all([a.close(), b.close()]), await dropRedisKeys(prefix)) };
  },
  redisUp ? undefined : "a Redis server is needed on 127.0.0.1:6379",
);

const postgresUp = await reachable(5432);
runStoredEntitiesSuite(
  "postgres",
  async () => {
    const table = `amoeba_test_${unique()}`;
    const a = await openPostgresStore({ connectionString: POSTGRES_URL, table });
    const b = await openPostgresStore({ connectionString: POSTGRES_URL, table, createTables: false });
    return { a, b, close: async () => (await Promise.all([a.close(), b.close()]), await dropPostgresTables(table)) };
  },
  postgresUp ? undefined : "a PostgreSQL server is needed on 127.0.0.1:5432 (db test, trust auth)",
);

runStoredEntitiesSuite(
  "nats-kv",
  async () => {
    const bucket = `stored_${++n}`;
    const a = await openNatsKvStore({ servers: nats!.url, bucket });
    const b = await openNatsKvStore({ servers: nats!.url, bucket });
    return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
  },
  natsMissing,
);
