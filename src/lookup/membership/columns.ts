import { entryHash } from "./digest.ts";
import { records, type Scope } from "./interning.ts";
import { internRecord } from "./record.ts";
import type { MemberRecord, MemberState } from "./types.ts";

// An entry's state and flags, one byte per member.
export const PRESENT = 0x10;
export const REPLACED = 0x20;
export const STATE_MASK = 0x03;
export const STATES: readonly MemberState[] = ["alive", "suspect", "dead", "left"];
export const CODE: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/** A table's columns, indexed by interned id; kept apart so that a collected table can release its ids. */
export interface Columns {
  /** The interners its ids and names are numbered by. */
  readonly scope: Scope;
  /** `PRESENT`, `REPLACED` and the state code. 0: not held. */
  flags: Uint8Array;
  incarnation: Float64Array;
  since: Float64Array;
  /** Position in the ready list of its state, -1 when in none. */
  slot: Int32Array;
  /** Interned name of the entry. */
  name: Int32Array;
  /** Interned record of the entry (RecordStore). */
  record: Int32Array;
  /** Interned name → interned id + 1 of the entry holding it (0: none). */
  holder: Int32Array;
}

const collected = new FinalizationRegistry<Columns>((columns) => {
  for (let i = 0; i < columns.flags.length; i++) {
    if (columns.flags[i]! & PRESENT) {
      columns.scope.ids.release(i);
      columns.scope.names.release(columns.name[i]!);
      records.release(columns.record[i]!);
    }
  }
});

/**
 * Empty columns for `owner` (a table), numbered by `scope`, sized for the ids
 * and names it interned so far. When the owner is collected, the ids, names
 * and records its columns held are released.
 */
export function createColumns(owner: object, scope: Scope): Columns {
  const c = { scope, ...columns(Math.max(16, scope.ids.capacity + 1), Math.max(16, scope.names.capacity + 1)) };
  collected.register(owner, c);
  return c;
}

/** Makes room in `c`, in place, for id `i` and name `name`. */
export function growColumns(c: Columns, i: number, name: number): void {
  if (i < c.flags.length && name < c.holder.length) return;
  const next = columns(i < c.flags.length ? c.flags.length : Math.max(2 * c.flags.length, i + 1), name < c.holder.length ? c.holder.length : Math.max(2 * c.holder.length, name + 1));
  next.flags.set(c.flags);
  next.incarnation.set(c.incarnation);
  next.since.set(c.since);
  next.slot.set(c.slot);
  next.name.set(c.name);
  next.holder.set(c.holder);
  next.record.set(c.record);
  // The old arrays are dropped, not released: the new ones hold the same ids.
  Object.assign(c, next);
}

function columns(idCapacity: number, nameCapacity: number): Omit<Columns, "scope"> {
  return {
    flags: new Uint8Array(idCapacity),
    incarnation: new Float64Array(idCapacity),
    since: new Float64Array(idCapacity),
    slot: new Int32Array(idCapacity).fill(-1),
    name: new Int32Array(idCapacity),
    record: new Int32Array(idCapacity),
    holder: new Int32Array(nameCapacity),
  };
}

/** A list of members known from the start, resolved to interned numbers. */
export interface PreloadBatch {
  ids: number[];
  names: number[];
  incarnations: number[];
  /** RecordStore numbers. */
  records: number[];
  /** Each member's share of its digest bucket, as alive. */
  shares: number[];
}

// A preload list resolved once per scope for every table it is given to. The
// batch holds one reference on each id and name, so they keep their numbers
// while it lives.
const batches = new WeakMap<object, Map<Scope, PreloadBatch>>();

/** Resolves `known` once per scope (interned, hashed), however many tables are given the same list. */
export function resolveBatch(known: ReadonlyArray<{ record: MemberRecord; incarnation: number }>, scope: Scope): PreloadBatch {
  let byScope = batches.get(known);
  if (!byScope) batches.set(known, (byScope = new Map()));
  let batch = byScope.get(scope);
  if (batch) return batch;
  batch = { ids: [], names: [], incarnations: [], records: [], shares: [] };
  for (const { record, incarnation } of known) {
    const i = scope.ids.acquire(record.id);
    batch.ids.push(i);
    batch.names.push(scope.names.acquire(record.name));
    batch.incarnations.push(incarnation);
    batch.records.push(records.acquire(internRecord(record)));
    batch.shares.push(entryHash(scope.ids.hash(i), incarnation, "alive"));
  }
  byScope.set(scope, batch);
  return batch;
}

/**
 * Puts the members of a preload batch that `c` does not hold (by id or by
 * name) into its columns, alive since `now`, and returns them with their
 * digest shares: the table then adds them to its lists and buckets.
 */
export function insertBatch(c: Columns, batch: PreloadBatch, now: number): Array<{ i: number; share: number }> {
  growColumns(c, batch.ids.reduce((m, i) => Math.max(m, i), 0), batch.names.reduce((m, i) => Math.max(m, i), 0));
  const inserted: Array<{ i: number; share: number }> = [];
  for (let k = 0; k < batch.ids.length; k++) {
    const i = batch.ids[k]!;
    const name = batch.names[k]!;
    if (c.flags[i]! & PRESENT || c.holder[name]! > 0) continue;
    c.scope.ids.retain(i);
    c.scope.names.retain(name);
    records.retain(batch.records[k]!);
    c.flags[i] = PRESENT;
    c.incarnation[i] = batch.incarnations[k]!;
    c.since[i] = now;
    c.name[i] = name;
    c.record[i] = batch.records[k]!;
    c.holder[name] = i + 1;
    inserted.push({ i, share: batch.shares[k]! });
  }
  return inserted;
}

/** Appends entry `i` to a ready list, noting its position in `slots`. */
export function addToList(list: number[], slots: Int32Array, i: number): void {
  slots[i] = list.length;
  list.push(i);
}

/** Takes entry `i` out of a ready list in O(1): the last entry takes its place. */
export function removeFromList(list: number[], slots: Int32Array, i: number): void {
  const slot = slots[i]!;
  const last = list.pop()!;
  if (last !== i) {
    list[slot] = last;
    slots[last] = slot;
  }
  slots[i] = -1;
}
