/**
 * The SQL of the PostgreSQL store. Each rule is one statement, so a row lock
 * taken by the statement makes its read and its write one step; leases and
 * idempotency records expire by the server's clock (`clock_timestamp()`).
 * `$t` stands for the table's name, checked to be a plain identifier.
 */

/** The tables: entities, leases, idempotency records. */
export const CREATE = [
  `CREATE TABLE IF NOT EXISTS $t (key text PRIMARY KEY, version bigint NOT NULL, token bigint NOT NULL, data bytea)`,
  `CREATE TABLE IF NOT EXISTS $t_leases (name text PRIMARY KEY, owner text NOT NULL, token bigint NOT NULL, expires_at timestamptz NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS $t_idempotency (key text PRIMARY KEY, claim text NOT NULL, done boolean NOT NULL, result bytea, expires_at timestamptz NOT NULL)`,
];

/** $1 key. */
export const LOAD = `SELECT version, token, data FROM $t WHERE key = $1`;

/** $1 key, $2 token, $3 data: creates the key at version 1 unless it exists (a tombstone included). */
export const CREATE_ENTITY = `INSERT INTO $t (key, version, token, data) VALUES ($1, 1, $2, $3) ON CONFLICT (key) DO NOTHING RETURNING version`;

/** $1 key, $2 expected version, $3 token, $4 data (null deletes). */
export const UPDATE_ENTITY = `UPDATE $t SET version = version + 1, token = $3, data = $4 WHERE key = $1 AND version = $2 AND token <= $3 RETURNING version`;

/** $1 name, $2 owner, $3 ttl ms. A held lease of another owner is left alone (no row returned). */
export const ACQUIRE = `
INSERT INTO $t_leases AS l (name, owner, token, expires_at)
VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
ON CONFLICT (name) DO UPDATE SET
  token = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > clock_timestamp() THEN l.token ELSE l.token + 1 END,
  owner = EXCLUDED.owner,
  expires_at = EXCLUDED.expires_at
WHERE l.owner = EXCLUDED.owner OR l.owner = '' OR l.expires_at <= clock_timestamp()
RETURNING token`;

/** $1 name. */
export const LEASE_HOLDER = `SELECT owner, token FROM $t_leases WHERE name = $1`;

/** $1 name, $2 owner, $3 token, $4 ttl ms. */
export const RENEW = `UPDATE $t_leases SET expires_at = clock_timestamp() + $4 * interval '1 millisecond' WHERE name = $1 AND owner = $2 AND token = $3 RETURNING token`;

/** $1 name, $2 owner, $3 token. The token stays, so the next holder's is greater. */
export const RELEASE = `UPDATE $t_leases SET owner = '', expires_at = least(expires_at, clock_timestamp()) WHERE name = $1 AND owner = $2 AND token = $3`;

/** $1 key, $2 claim, $3 hold ms: claims unless a live record exists. */
export const BEGIN = `
INSERT INTO $t_idempotency AS i (key, claim, done, result, expires_at)
VALUES ($1, $2, false, NULL, clock_timestamp() + $3 * interval '1 millisecond')
ON CONFLICT (key) DO UPDATE SET claim = EXCLUDED.claim, done = false, result = NULL, expires_at = EXCLUDED.expires_at
WHERE i.expires_at <= clock_timestamp()
RETURNING claim`;

/** $1 key. */
export const IDEMPOTENCY_RECORD = `SELECT done, result FROM $t_idempotency WHERE key = $1 AND expires_at > clock_timestamp()`;

/** $1 key, $2 claim, $3 result, $4 retain ms. */
export const COMPLETE = `UPDATE $t_idempotency SET done = true, result = $3, expires_at = clock_timestamp() + $4 * interval '1 millisecond' WHERE key = $1 AND claim = $2 AND NOT done AND expires_at > clock_timestamp()`;

/** $1 key, $2 claim. */
export const ABANDON = `DELETE FROM $t_idempotency WHERE key = $1 AND claim = $2 AND NOT done`;

/** The drop of the tables (for tests and teardown). */
export const DROP = [`DROP TABLE IF EXISTS $t`, `DROP TABLE IF EXISTS $t_leases`, `DROP TABLE IF EXISTS $t_idempotency`];
