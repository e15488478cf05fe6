/**
 * The PostgreSQL state store (through `pg`, an optional peer dependency).
 * Each rule is one statement (src/entity/postgres-sql.ts). Durability is the
 * server's: with the default `synchronous_commit = on` a write is on disk
 * when acknowledged; with synchronous standbys, on them too (see
 * docs/entities.md).
 */
import { randomUUID } from "node:crypto";
import { BadStoreInputError, claimLost, LeaseHeldError, StaleOwnerError, storeFailure, VersionConflictError } from "./errors.ts";
import { importOptional } from "./optional-import.ts";
import * as sql from "./postgres-sql.ts";
import { checkDuration, checkFence, checkKey, checkLease, checkOwner, checkValue, closedError, storeLimits } from "./store-input.ts";
import { leaseOf } from "./store-rules.ts";
import { DEFAULT_STORE_LIMITS, type EntityStore, type Fence, type IdempotencyClaim, type IdempotencyStore, type Lease, type StoredEntity, type StoreLimits } from "./store.ts";

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** e.g. `postgres://user@127.0.0.1:5432/db`; default: pg's own (the PG* environment variables). */
  connectionString?: string;
  /** The entity table; the lease and idempotency tables are named after it. Default `amoeba_entities`. */
  table?: string;
  /** Create the tables when missing; default true. */
  createTables?: boolean;
  /** Connections in the pool; default 4. */
  poolSize?: number;
  /** Size limits. */
  limits?: Partial<StoreLimits>;
}

// The part of a pg pool this store uses.
interface Pool {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
  end(): Promise<void>;
  on(event: "error", listener: (error: Error) => void): unknown;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,40}$/;

/** Connects to PostgreSQL and opens a store; fails with UNAVAILABLE when the server cannot be reached. */
export async function openPostgresStore(options: PostgresStoreOptions = {}): Promise<EntityStore> {
  const limits = storeLimits(options.limits, DEFAULT_STORE_LIMITS);
  const table = options.table ?? "amoeba_entities";
  if (!IDENTIFIER.test(table)) throw new BadStoreInputError("table", `table ${JSON.stringify(table)} must be a lower-case identifier of at most 41 characters`);
  const pg = await importOptional<{ default: { Pool: new (config: object) => Pool } }>("pg", "PostgreSQL");
  const pool = new pg.default.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 4, connectionTimeoutMillis: 5_000 });
  // An idle connection's failure is reported to the next query; without a listener it would crash the process.
  pool.on("error", () => undefined);
  const statements = Object.fromEntries(
    Object.entries(sql).map(([name, text]) => [name, Array.isArray(text) ? text.map((t) => t.replaceAll("$t", table)) : text.replaceAll("$t", table)]),
  ) as { [K in keyof typeof sql]: (typeof sql)[K] extends string[] ? string[] : string };
  try {
    if (options.createTables ?? true) for (const statement of statements.CREATE) await pool.query(statement);
    else await pool.query("SELECT 1");
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw storeFailure("PostgreSQL", error);
  }
  return new PostgresStore(pool, statements, limits);
}

type Statements = Record<Exclude<keyof typeof sql, "CREATE" | "DROP">, string>;

class PostgresStore implements EntityStore {
  readonly kind = "postgres";
  readonly limits: StoreLimits;
  readonly idempotency: IdempotencyStore;
  readonly #pool: Pool;
  readonly #sql: Statements;
  #closed = false;

  constructor(pool: Pool, statements: Statements, limits: StoreLimits) {
    this.#pool = pool;
    this.#sql = statements;
    this.limits = limits;
    this.idempotency = new PostgresIdempotency(this, statements);
  }

  async load(key: string): Promise<StoredEntity> {
    checkKey(key, this.limits);
    const { rows } = await this.query(this.#sql.LOAD, [key]);
    const row = rows[0];
    if (!row) return { data: undefined, version: 0, token: 0 };
    return { data: row.data === null ? undefined : new Uint8Array(row.data as Buffer), version: Number(row.version), token: Number(row.token) };
  }

  async save(key: string, data: Uint8Array, fence: Fence): Promise<number> {
    checkKey(key, this.limits);
    checkValue(data, this.limits);
    checkFence(fence);
    return this.#write(key, Buffer.from(data.buffer, data.byteOffset, data.byteLength), fence);
  }

  async delete(key: string, fence: Fence): Promise<number> {
    checkKey(key, this.limits);
    checkFence(fence);
    return this.#write(key, null, fence);
  }

  async #write(key: string, data: Buffer | null, fence: Fence): Promise<number> {
    const { rows } =
      fence.expectedVersion === 0
        ? await this.query(this.#sql.CREATE_ENTITY, [key, fence.token, data])
        : await this.query(this.#sql.UPDATE_ENTITY, [key, fence.expectedVersion, fence.token, data]);
    if (rows[0]) return Number(rows[0].version);
    // Refused: say why from what is there now (a later write may have moved it on; either way it was refused).
    const current = await this.load(key);
    if (fence.token < current.token) throw new StaleOwnerError(key, fence.token, current.token);
    throw new VersionConflictError(key, fence.expectedVersion, current.version);
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkKey(name, this.limits, "lease name");
    checkOwner(owner);
    checkDuration(ttlMs, "ttlMs");
    const sentAt = Date.now();
    const { rows } = await this.query(this.#sql.ACQUIRE, [name, owner, ttlMs]);
    if (rows[0]) return leaseOf(name, { owner, token: Number(rows[0].token), expiresAt: 0 }, sentAt, ttlMs);
    const holder = (await this.query(this.#sql.LEASE_HOLDER, [name])).rows[0];
    throw new LeaseHeldError(name, String(holder?.owner ?? ""), Number(holder?.token ?? 0));
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease> {
    checkLease(lease, this.limits);
    checkDuration(ttlMs, "ttlMs");
    const sentAt = Date.now();
    const { rows } = await this.query(this.#sql.RENEW, [lease.name, lease.owner, lease.token, ttlMs]);
    if (!rows[0]) {
      const holder = (await this.query(this.#sql.LEASE_HOLDER, [lease.name])).rows[0];
      throw new StaleOwnerError(lease.name, lease.token, Number(holder?.token ?? 0), "lease");
    }
    return leaseOf(lease.name, { owner: lease.owner, token: lease.token, expiresAt: 0 }, sentAt, ttlMs);
  }

  async release(lease: Lease): Promise<void> {
    checkLease(lease, this.limits);
    await this.query(this.#sql.RELEASE, [lease.name, lease.owner, lease.token]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end().catch(() => undefined);
  }

  /** Runs one statement, refused once closed, its failures made store errors. */
  async query(text: string, values: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }> {
    if (this.#closed) throw closedError(this.kind);
    try {
      return await this.#pool.query(text, values);
    } catch (error) {
      throw storeFailure("PostgreSQL", error);
    }
  }
}

class PostgresIdempotency implements IdempotencyStore {
  readonly #store: PostgresStore;
  readonly #sql: Statements;

  constructor(store: PostgresStore, statements: Statements) {
    this.#store = store;
    this.#sql = statements;
  }

  async begin(key: string, holdMs: number): Promise<IdempotencyClaim> {
    checkKey(key, this.#store.limits, "idempotency key");
    checkDuration(holdMs, "holdMs");
    const claim = randomUUID();
    // Twice at most: a record that expires between the two statements is claimed on the second round.
    for (let round = 0; ; round++) {
      const { rows } = await this.#store.query(this.#sql.BEGIN, [key, claim, holdMs]);
      if (rows[0]) return { status: "started", claim };
      const record = (await this.#store.query(this.#sql.IDEMPOTENCY_RECORD, [key])).rows[0];
      if (record) return record.done ? { status: "done", result: new Uint8Array((record.result as Buffer | null) ?? Buffer.alloc(0)) } : { status: "running" };
      if (round === 1) return { status: "running" };
    }
  }

  async complete(key: string, claim: string, result: Uint8Array, retainMs: number): Promise<void> {
    checkKey(key, this.#store.limits, "idempotency key");
    checkValue(result, this.#store.limits, "result");
    checkDuration(retainMs, "retainMs");
    const outcome = await this.#store.query(this.#sql.COMPLETE, [key, claim, Buffer.from(result.buffer, result.byteOffset, result.byteLength), retainMs]);
    if (!outcome.rowCount) throw claimLost(key);
  }

  async abandon(key: string, claim: string): Promise<void> {
    checkKey(key, this.#store.limits, "idempotency key");
    await this.#store.query(this.#sql.ABANDON, [key, claim]);
  }
}
