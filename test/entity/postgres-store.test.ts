// The PostgreSQL store through the conformance suite, against the server on 127.0.0.1:5432 (db test): each fixture its own tables, dropped after.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { openPostgresStore, StoreError } from "../../src/entity/index.ts";
import { requireOrSkip } from "../support/require.ts";
import { runStoreConformance } from "./store-suite.ts";
import { dropPostgresTables, POSTGRES_URL, reachable, unusedPort } from "./support.ts";

const up = await reachable(5432);
const missing = up ? undefined : "a PostgreSQL server is needed on 127.0.0.1:5432 (db test, trust auth)";

runStoreConformance(
  "postgres",
  async () => {
    const table = `amoeba_test_${randomBytes(5).toString("hex")}`;
    const a = await openPostgresStore({ connectionString: POSTGRES_URL, table });
    const b = await openPostgresStore({ connectionString: POSTGRES_URL, table, createTables: false });
    return {
      a,
      b,
      close: async () => {
        await Promise.all([a.close(), b.close()]);
        await dropPostgresTables(table);
      },
    };
  },
  { missing },
);

test("postgres: a bad table name and an unreachable server get typed errors", async (t) => {
  if (!requireOrSkip(t, up, missing ?? "")) return;
  await assert.rejects(openPostgresStore({ connectionString: POSTGRES_URL, table: "x; DROP TABLE y" }), (error: unknown) => error instanceof StoreError && error.code === "INVALID_ARGUMENT");
  const closedPort = await unusedPort();
  await assert.rejects(openPostgresStore({ connectionString: `postgres://postgres@127.0.0.1:${closedPort}/test` }), (error: unknown) => error instanceof StoreError && error.code === "UNAVAILABLE");
});
