/** Helpers of the entity store tests. */
import net from "node:net";

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** A port of 127.0.0.1 that nothing listens on (closed again right after it was taken). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The Redis server the tests use. */
export const REDIS_URL = "redis://127.0.0.1:6379";

/** The PostgreSQL database the tests use (trust auth). */
export const POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test";

/** Deletes every Redis key under `prefix` (leases are kept for ever by design, so tests clean up after themselves). */
export async function dropRedisKeys(prefix: string): Promise<void> {
  const { Redis } = await import("ioredis");
  const client = new Redis(REDIS_URL);
  try {
    let cursor = "0";
    for (let rounds = 0; rounds < 1_000; rounds++) {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
      if (cursor === "0") break;
    }
  } finally {
    client.disconnect();
  }
}

/** Drops the three tables of a PostgreSQL store named `table`. */
export async function dropPostgresTables(table: string): Promise<void> {
  const pg = await import("pg");
  const client = new pg.default.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    for (const name of [table, `${table}_leases`, `${table}_idempotency`]) await client.query(`DROP TABLE IF EXISTS ${name}`);
  } finally {
    await client.end();
  }
}
