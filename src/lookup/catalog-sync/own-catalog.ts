import { addHash, CATALOG_LIMITS, formatDigest, viewOf, type CatalogView, type EntryValue, type WireEntry } from "./entries.ts";

/** One page of a catalog transfer. */
export interface CatalogPage {
  /** The catalog's version the transfer brings the receiver to. */
  version: number;
  /** Its hash once every page is applied: the receiver checks its copy against it. */
  hash: number;
  /** True: the entries are the whole catalog; false: the changes since the version the receiver held. */
  full: boolean;
  entries: WireEntry[];
  /** The last page of the transfer. */
  last: boolean;
}

/** A change of one entry, in the order made. */
interface Change {
  version: number;
  key: string;
}

/** How many changes of entries are kept to answer with a delta; older holders get the whole catalog. */
const CHANGE_LOG = 20_000;

/**
 * This node's own catalog: the table of entries, its version (raised at each
 * change) and hash, and a log of recent changes so that a member holding an
 * older version gets only what changed (as a blocking query's index in
 * Consul, or the version vector of Cassandra's gossip, tells what is new).
 */
export class OwnCatalog {
  #entries = new Map<string, EntryValue>();
  #version = 0;
  #hash = 0;
  #log: Change[] = [];
  /** Deltas can be answered from versions ≥ this one. */
  #floor = 0;
  readonly #pairs = new Map<string, readonly [string, string]>();
  #view: CatalogView = viewOf(new Map());

  get version(): number {
    return this.#version;
  }

  /** The digest to gossip. */
  get digest(): string {
    return formatDigest(this.#version, this.#hash);
  }

  /** The services, methods and catalog labels, as the look-up shows them. */
  get view(): CatalogView {
    return this.#view;
  }

  /** The value of entry `key`. */
  get(key: string): EntryValue | undefined {
    return this.#entries.get(key);
  }

  /** Entries now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Replaces every entry whose key starts with `prefix` by `next` (keys with
   * that prefix); raises the version once when anything changed. Throws a
   * RangeError, changing nothing, when the catalog would pass its limits.
   */
  replace(prefix: string, next: ReadonlyMap<string, EntryValue>): boolean {
    let kept = 0;
    for (const key of this.#entries.keys()) if (!key.startsWith(prefix)) kept++;
    if (kept + next.size > CATALOG_LIMITS.entries) {
      throw new RangeError(`a catalog holds at most ${CATALOG_LIMITS.entries} entries; this change would make ${kept + next.size}`);
    }
    const changes: Array<[string, EntryValue | undefined]> = [];
    for (const key of this.#entries.keys()) if (key.startsWith(prefix) && !next.has(key)) changes.push([key, undefined]);
    for (const [key, value] of next) {
      const before = this.#entries.get(key);
      if (before === undefined || !sameValue(before, value)) changes.push([key, value]);
    }
    if (changes.length === 0) return false;
    const version = ++this.#version;
    for (const [key, value] of changes) {
      this.#hash = addHash(this.#hash, key, this.#entries.get(key), -1);
      if (value === undefined) this.#entries.delete(key);
      else {
        this.#entries.set(key, value);
        this.#hash = addHash(this.#hash, key, value, 1);
      }
      this.#log.push({ version, key });
    }
    if (this.#log.length > CHANGE_LOG) {
      // Drop whole versions only: a delta must hold every change of a version.
      let cut = this.#log.length - CHANGE_LOG;
      const last = this.#log[cut - 1]!.version;
      while (cut < this.#log.length && this.#log[cut]!.version === last) cut++;
      this.#log = this.#log.slice(cut);
      this.#floor = last;
    }
    // The table changes in place: a view replaced by this one may list newer methods if asked later.
    this.#view = viewOf(this.#entries, this.#pairs);
    return true;
  }

  /**
   * The transfer that brings a holder of version `since` (none: nothing held)
   * to the current version, in pages: the changes since then when the log
   * still has them all, else the whole catalog. A snapshot: later changes do
   * not alter pages already made.
   */
  pages(since?: number): CatalogPage[] {
    const version = this.#version;
    const hash = this.#hash;
    let entries: WireEntry[];
    let full: boolean;
    if (since !== undefined && since >= this.#floor && since <= version) {
      full = false;
      const keys = new Set<string>();
      for (let i = this.#log.length - 1; i >= 0 && this.#log[i]!.version > since; i--) keys.add(this.#log[i]!.key);
      entries = [...keys].map((key) => [key, this.#entries.get(key) ?? null]);
    } else {
      full = true;
      entries = [...this.#entries];
    }
    const pages: CatalogPage[] = [];
    for (let at = 0; at < entries.length || pages.length === 0; at += CATALOG_LIMITS.pageEntries) {
      pages.push({ version, hash, full, entries: entries.slice(at, at + CATALOG_LIMITS.pageEntries), last: false });
    }
    pages[pages.length - 1]!.last = true;
    return pages;
  }
}

function sameValue(a: EntryValue, b: EntryValue): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
