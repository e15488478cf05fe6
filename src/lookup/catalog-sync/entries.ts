/**
 * A member's catalog as a flat, versioned table of entries — what it serves
 * and what it offers beyond its gossip record — and the pieces both ends of a
 * catalog transfer share: entry keys, the order-free hash, limits. Pure: no I/O.
 *
 * Two kinds of entry:
 * - `s:<name>@<version>` → the method names of a served service version;
 * - `l:<key>` → a label too large or too many for gossip: the routes a gateway
 *   advertises (`amoeba.route.<service>`).
 */

/** The value of one entry: method names (a service) or a label's value. */
export type EntryValue = readonly string[] | string;

/** An entry as it travels: a value, or null for one removed (in a delta). */
export type WireEntry = [key: string, value: EntryValue | null];

/** Labels whose keys start so travel in the catalog, not in gossip (routes can be many and long). */
export const CATALOG_LABEL_PREFIX = "amoeba.route.";

/** The gossip label that carries a member's catalog digest: `<version>.<hash>`. */
export const CATALOG_DIGEST_LABEL = "amoeba.catalog";

/**
 * Bounds on a catalog, far above what a real deployment holds (a node with
 * 1,000 services and 10,000 methods, a gateway forwarding 10,000 services),
 * so that a hostile or broken peer cannot make a node hold without bound.
 */
export const CATALOG_LIMITS = Object.freeze({
  /** Entries of one catalog. */
  entries: 200_000,
  /** Characters of an entry's key. */
  key: 1_024,
  /** Methods of one service version. */
  methods: 10_000,
  /** Characters of a method name. */
  method: 256,
  /** Characters of a label value (the routes to one service). */
  labelValue: 64 * 1024,
  /** Entries of one page of a transfer. */
  pageEntries: 1_000,
});

/** The entry key of a served service version. */
export function serviceKey(name: string, version: string): string {
  return `s:${name}@${version}`;
}

/** The entry key of a catalog label. */
export function labelKey(key: string): string {
  return `l:${key}`;
}

/** `[name, version]` of a service key; undefined for another kind of key. */
export function parseServiceKey(key: string): [string, string] | undefined {
  if (!key.startsWith("s:")) return undefined;
  const at = key.lastIndexOf("@");
  if (at <= 2) return undefined;
  return [key.slice(2, at), key.slice(at + 1)];
}

/** The hash of one entry (FNV-1a, 32 bits, over key and value). */
export function entryHash(key: string, value: EntryValue): number {
  let h = 0x811c9dc5;
  const text = typeof value === "string" ? `${key}\u0000=${value}` : `${key}\u0000[${value.join("\u0001")}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The hash of a whole catalog: the sum of its entries' hashes (mod 2^32), so
 * that a change of one entry updates it in constant time and both ends agree
 * whatever order the entries came in.
 */
export function addHash(sum: number, key: string, value: EntryValue | undefined, sign: 1 | -1): number {
  if (value === undefined) return sum;
  return (sum + sign * entryHash(key, value)) >>> 0;
}

/** The digest gossiped for a catalog. */
export function formatDigest(version: number, hash: number): string {
  return `${version}.${hash.toString(36)}`;
}

/** `{ version, hash }` of a gossiped digest; undefined when it is unreadable. */
export function parseDigest(text: string | undefined): { version: number; hash: number } | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d{1,15})\.([0-9a-z]{1,7})$/.exec(text);
  if (!match) return undefined;
  const hash = parseInt(match[2]!, 36);
  return hash > 0xffffffff ? undefined : { version: Number(match[1]), hash };
}

/** What is wrong with an entry from the network, or null when it is acceptable. */
export function entryProblem(entry: unknown): string | null {
  if (!Array.isArray(entry) || entry.length !== 2) return "an entry must be [key, value]";
  const [key, value] = entry as [unknown, unknown];
  if (typeof key !== "string" || key.length === 0 || key.length > CATALOG_LIMITS.key) return `an entry key must be a string of 1 to ${CATALOG_LIMITS.key} characters`;
  if (value === null) return null;
  if (key.startsWith("s:")) {
    if (!parseServiceKey(key)) return `unreadable service key ${key.slice(0, 64)}`;
    if (!Array.isArray(value) || value.length > CATALOG_LIMITS.methods) return `the methods of ${key.slice(2, 66)} must be at most ${CATALOG_LIMITS.methods} names`;
    for (const name of value) if (typeof name !== "string" || name.length > CATALOG_LIMITS.method) return `a method name of ${key.slice(2, 66)} is not a short string`;
    return null;
  }
  if (key.startsWith("l:")) {
    if (key === "l:" || key === "l:__proto__" || typeof value !== "string" || value.length > CATALOG_LIMITS.labelValue) return `label ${key.slice(2, 66)} must have a string value of at most ${CATALOG_LIMITS.labelValue} characters`;
    return null;
  }
  return `unknown kind of entry ${key.slice(0, 64)}`;
}

/** What the look-up shows of a catalog: the services, their methods, the catalog labels. */
export interface CatalogView {
  readonly services: ReadonlyArray<readonly [string, string]>;
  /** Method names by `name@version`. */
  readonly methods: Readonly<Record<string, readonly string[]>>;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The view of a table of entries, frozen (shared by every member snapshot
 * handed out). `pairs` caches the `[name, version]` of each service key
 * between views of one catalog, so that a change of one entry costs a copy
 * of references, not a parse of every key.
 */
export function viewOf(entries: ReadonlyMap<string, EntryValue>, pairs: Map<string, readonly [string, string]> = new Map()): CatalogView {
  const services: Array<readonly [string, string]> = [];
  const labels: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (typeof value === "string") {
      if (key.startsWith("l:")) labels[key.slice(2)] = value;
      continue;
    }
    let pair = pairs.get(key);
    if (!pair) {
      const parsed = parseServiceKey(key);
      if (!parsed) continue;
      pair = Object.freeze(parsed);
      pairs.set(key, pair);
    }
    services.push(pair);
  }
  if (pairs.size > 2 * services.length + 64) for (const key of pairs.keys()) if (!entries.has(key)) pairs.delete(key);
  let methods: Readonly<Record<string, readonly string[]>> | undefined;
  return Object.freeze({
    services: Object.freeze(services),
    labels: Object.freeze(labels),
    // Built when first asked for: most readers want services and labels only.
    get methods(): Readonly<Record<string, readonly string[]>> {
      if (!methods) {
        const table = Object.create(null) as Record<string, readonly string[]>;
        for (const [key, value] of entries) if (typeof value !== "string" && key.startsWith("s:")) table[key.slice(2)] = value;
        methods = Object.freeze(table);
      }
      return methods;
    },
  });
}
