import { idHash } from "./digest.ts";
import type { MemberRecord } from "./types.ts";

/**
 * Strings as small integers, shared by the tables of a cluster and counted:
 * an id (or name) no table holds any more is forgotten and its number reused.
 * Tables index their columns by these numbers, so a process that simulates
 * thousands of nodes keeps no per-node map from id to entry.
 */
export class Interner {
  readonly #index = new Map<string, number>();
  readonly #keys: Array<string | undefined> = [];
  readonly #refs: number[] = [];
  readonly #hashes: number[] = [];
  readonly #free: number[] = [];

  /** Numbers given out so far: every number is below this. */
  get capacity(): number {
    return this.#keys.length;
  }

  find(key: string): number | undefined {
    return this.#index.get(key);
  }

  /** The number of `key`, counting one more holder. */
  acquire(key: string): number {
    let i = this.#index.get(key);
    if (i === undefined) {
      i = this.#free.pop() ?? this.#keys.length;
      this.#index.set(key, i);
      this.#keys[i] = key;
      this.#refs[i] = 0;
      this.#hashes[i] = idHash(key);
    }
    this.#refs[i]!++;
    return i;
  }

  /** One more holder of a number already given out. */
  retain(i: number): void {
    this.#refs[i]!++;
  }

  release(i: number): void {
    if (--this.#refs[i]! > 0) return;
    this.#index.delete(this.#keys[i]!);
    this.#keys[i] = undefined;
    this.#free.push(i);
  }

  /** The id hash of a number's string (digest.ts). */
  hash(i: number): number {
    return this.#hashes[i]!;
  }
}

/** The numbers of the tables of one cluster's members: ids and names, apart from other clusters'. */
export interface Scope {
  readonly ids: Interner;
  readonly names: Interner;
}

const scopes = new Map<string, Scope>();

/**
 * The interners of the tables of members of `cluster`. Numbered per cluster,
 * a table's columns are as long as its cluster is large, not as the process's
 * every member: a process simulating a thousand clusters of twenty holds no
 * table sized for all of them.
 */
export function scopeOf(cluster: string): Scope {
  let scope = scopes.get(cluster);
  if (!scope) scopes.set(cluster, (scope = { ids: new Interner(), names: new Interner() }));
  return scope;
}

/**
 * Interned records as small integers, counted like ids: a table's column holds
 * the number, not a reference, so that a process simulating thousands of nodes
 * has no per-node arrays of pointers for the collector to walk.
 */
export class RecordStore {
  readonly #records: Array<Readonly<MemberRecord> | undefined> = [];
  readonly #refs: number[] = [];
  readonly #numbers = new Map<Readonly<MemberRecord>, number>();
  readonly #free: number[] = [];

  acquire(record: Readonly<MemberRecord>): number {
    let n = this.#numbers.get(record);
    if (n === undefined) {
      n = this.#free.pop() ?? this.#records.length;
      this.#numbers.set(record, n);
      this.#records[n] = record;
      this.#refs[n] = 0;
    }
    this.#refs[n]!++;
    return n;
  }

  retain(n: number): void {
    this.#refs[n]!++;
  }

  release(n: number): void {
    if (--this.#refs[n]! > 0) return;
    this.#numbers.delete(this.#records[n]!);
    this.#records[n] = undefined;
    this.#free.push(n);
  }

  get(n: number): Readonly<MemberRecord> {
    return this.#records[n]!;
  }
}

/** Records of every table of the process. */
export const records = new RecordStore();
