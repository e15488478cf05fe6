// The PostgreSQL store through the conformance suite, against the server on 127.0.0.1:5432 (db test): each fixture its own tables, dropped after.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import pg from "pg";
import { openPostgresStore, StoreError } from "../../src/entity/index.ts";
import { requireOrSkip } from "../support/require.ts";
import { runStoreConformance } from "./store-suite.ts";
import { reachable, unusedPort } from "./support.ts";

const URL = "postgres://postgres@127.0.0.1:5432/test";
const up = await reachable(5432);
const missing = up ? undefined : "a PostgreSQL server is needed on 127.0.0.1:5432 (db test, trust auth)";

runStoreConformance(
  "postgres",
  async () => {
    const table = `amoeba_test_${randomBytes(5).toString("hex")}`;
    const a = await openPostgresStore({ connectionString: URL, table });
    const b = await openPostgresStore({ connectionString: URL, table, createTables: false });
    return {
      a,
      b,
      close: async () => {
        await Promise.all([a.close(), b.close()]);
        await dropTables(table);
      },
    };
  },
  { missing },
);

test("postgres: a bad table name and an unreachable server get typed errors", async (t) => {
  if (!requireOrSkip(t, up, missing ?? "")) return;
  await assert.rejects(openPostgresStore({ connectionString: URL, table: "x; DROP TABLE y" }), (error: unknown) => error instanceof StoreError && error.code === "INVALID_ARGUMENT");
  const closedPort = await unusedPort();
  await assert.rejects(openPostgresStore({ connectionString: `postgres://postgres@127.0.0.1:${closedPort}/test` }), (error: unknown) => error instanceof StoreError && error.code === "UNAVAILABLE");
});

async function dropTables(table: string): Promise<void> {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  try {
    for (const name of [table, `${table}_leases`, `${table}_idempotency`]) await client.query(`DROP TABLE IF EXISTS ${name}`);
  } finally {
    await client.end();
  }
}
