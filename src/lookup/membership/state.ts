import { visitRandomPositions } from "./random-pick.ts";
import { bucketOf, DIGEST_BUCKETS, entryHash } from "./digest.ts";
import { addToList, CODE, createColumns, growColumns, insertBatch, removeFromList, PRESENT, REPLACED, resolveBatch, STATE_MASK, STATES, type Columns } from "./columns.ts";
import { records, scopeOf, type Interner } from "./interning.ts";
import { internRecord, sameRecord } from "./record.ts";
import type { Member, MemberRecord, MembershipEvent, MemberState } from "./types.ts";

// The ready lists: other members by state (never replaced ones, never self).
const ALIVE = 0;
const SUSPECT = 1;
const DEAD = 2;

/**
 * The view of the cluster: one entry per member id, changed only by the rules
 * below, so that duplicated, reordered or stale news never moves it backwards.
 *
 * - Only a member raises its own incarnation; news with a lower incarnation than
 *   the one held is stale and ignored.
 * - `alive` needs a strictly higher incarnation (equal news changes nothing, so a
 *   forged record at the current incarnation cannot replace the real one).
 * - `suspect`, `dead` and `left` apply at an equal or higher incarnation, in that
 *   order of strength: suspect < dead < left, and never the other way at one
 *   incarnation. Only an `alive` at a higher incarnation (a refutation) undoes them.
 * - Two ids under one name: the one that started later replaces the other,
 *   which is kept as a tombstone and never comes back. An equal start never
 *   evicts a live member (ties with a dead or left one go to the greater id).
 *
 * The table holds no timers and sends nothing; the caller acts on the events it
 * returns. The node's own entry is set by the caller and never changed by news.
 *
 * Everything the protocol asks each round costs O(1) or O(k), not O(n): the
 * digest's bucket hashes are kept up to date as entries change, the other
 * members are kept in ready lists by state (alive, suspect, dead) for random
 * picks, the active count is kept, and only ended members are scanned for
 * reaping. Entries are columns of typed arrays indexed by ids interned for the
 * cluster (about 40 bytes per member, no object), and records are frozen
 * and shared (see {@link internRecord}): a process simulating 10,000 nodes that
 * each know 10,000 members holds 10^8 entries.
 */
export class MemberTable {
  #c: Columns;
  readonly #ids: Interner;
  readonly #names: Interner;
  readonly #self: number;
  readonly #selfId: string;
  readonly #buckets = new Uint32Array(DIGEST_BUCKETS);
  readonly #lists: [number[], number[], number[]] = [[], [], []];
  /** Other members dead, left or replaced: what `reap` looks at. */
  readonly #ended = new Set<number>();
  /** Members alive or suspect, self included. */
  #active = 0;

  constructor(self: MemberRecord, now: number) {
    const scope = scopeOf(self.cluster);
    [this.#ids, this.#names] = [scope.ids, scope.names];
    this.#c = createColumns(this, scope);
    this.#selfId = self.id;
    this.#self = this.#insert(internRecord(self), "alive", 0, now);
  }

  /** This node's own entry. */
  get self(): Member {
    return this.#snapshot(this.#self);
  }

  /** Sets this node's own record, incarnation or state. */
  setSelf(change: { record?: MemberRecord; incarnation?: number; state?: MemberState }, now: number): Member {
    const i = this.#self;
    const c = this.#c;
    this.#unaccount(i);
    if (change.record) this.#setRecord(i, internRecord(change.record));
    if (change.incarnation !== undefined) c.incarnation[i] = change.incarnation;
    if (change.state !== undefined && change.state !== this.#state(i)) {
      this.#setState(i, change.state);
      c.since[i] = now;
    }
    this.#account(i);
    return this.#snapshot(i);
  }

  get(id: string): Member | undefined {
    const i = this.#find(id);
    return i === undefined || this.#c.flags[i]! & REPLACED ? undefined : this.#snapshot(i);
  }

  /** Whether this table holds `id` in any form, a replaced id's tombstone included. */
  knows(id: string): boolean {
    return this.#find(id) !== undefined;
  }

  /** Every member, self included; replaced ids are left out. */
  members(): Member[] {
    const out: Member[] = [this.#snapshot(this.#self)];
    for (const list of this.#lists) for (const i of list) out.push(this.#snapshot(i));
    for (const i of this.#ended) if (this.#state(i) === "left" && !(this.#c.flags[i]! & REPLACED)) out.push(this.#snapshot(i));
    return out;
  }

  /** Other members in `states` (replaced ids never count), as snapshots. O(n): not for every round. */
  others(states: readonly MemberState[]): Member[] {
    return this.members().filter((member) => member.record.id !== this.#selfId && states.includes(member.state));
  }

  /** How many other members are in `state` (alive, suspect or dead); O(1). */
  count(state: "alive" | "suspect" | "dead"): number {
    return this.#lists[listOf(state)].length;
  }

  /**
   * Up to `k` distinct other members, chosen at random among those in `states`
   * (alive, suspect, dead), skipping `exclude`; O(k) for small k, with no copy of
   * the lists. `accept` filters further (e.g. the recently dead only): it may be
   * called on up to twice the candidates.
   */
  pick(
    states: ReadonlyArray<"alive" | "suspect" | "dead">,
    k: number,
    random: () => number,
    exclude?: string,
    accept?: (member: Member) => boolean,
  ): Member[] {
    const lists = states.map((state) => this.#lists[listOf(state)]);
    const total = lists.reduce((sum, list) => sum + list.length, 0);
    const out: Member[] = [];
    if (k <= 0 || total === 0) return out;
    visitRandomPositions(total, k, random, (n) => {
      for (const list of lists) {
        if (n >= list.length) {
          n -= list.length;
          continue;
        }
        const member = this.#snapshot(list[n]!);
        if (member.record.id === exclude || (accept && !accept(member))) return false;
        out.push(member);
        return true;
      }
      return false;
    });
    return out;
  }

  /** Ids of the other members alive or suspect, in no particular order (a copy). */
  activeIds(): string[] {
    const out: string[] = [];
    for (const list of [this.#lists[ALIVE], this.#lists[SUSPECT]]) for (const i of list) out.push(this.#recordOf(i).id);
    return out;
  }

  /**
   * Numbers (interned ids) of the other members alive or suspect, for a probe
   * order kept as numbers rather than strings; see `activeAt`.
   */
  activeNumbers(): Int32Array {
    const alive = this.#lists[ALIVE];
    const suspect = this.#lists[SUSPECT];
    const out = new Int32Array(alive.length + suspect.length);
    out.set(alive);
    out.set(suspect, alive.length);
    return out;
  }

  /** The member numbered `n` (see `activeNumbers`) if it is another member, alive or suspect, here. */
  activeAt(n: number): Member | undefined {
    const flags = n < this.#c.flags.length ? this.#c.flags[n]! : 0;
    if (!(flags & PRESENT) || flags & REPLACED || n === this.#self) return undefined;
    const state = this.#state(n);
    return state === "alive" || state === "suspect" ? this.#snapshot(n) : undefined;
  }

  /** The number of member `id` here, if held. */
  numberOf(id: string): number | undefined {
    return this.#find(id);
  }

  /** Whether any other member is alive or suspect. */
  hasActiveOthers(): boolean {
    return this.#lists[ALIVE].length + this.#lists[SUSPECT].length > 0;
  }

  /** Members alive or suspect, self included: the `n` of the protocol's formulas. */
  activeCount(): number {
    return this.#active;
  }

  /** The digest of the view: one hash per bucket (see digest.ts). A copy. */
  digest(): number[] {
    return Array.from(this.#buckets);
  }

  /** The buckets whose hash differs from `digest`'s. */
  differingBuckets(digest: readonly number[]): number[] {
    const out: number[] = [];
    for (let b = 0; b < DIGEST_BUCKETS; b++) if (this.#buckets[b] !== digest[b]) out.push(b);
    return out;
  }

  /**
   * Members (self included, replaced ids never) whose bucket is in `buckets`, as
   * snapshots. O(n) when buckets differ: only exchanges that found a difference pay it.
   */
  inBuckets(buckets: ReadonlySet<number>): Member[] {
    const out: Member[] = [];
    const visit = (i: number): void => {
      if (!(this.#c.flags[i]! & REPLACED) && buckets.has(bucketOf(this.#ids.hash(i)))) out.push(this.#snapshot(i));
    };
    visit(this.#self);
    for (const list of this.#lists) for (const i of list) visit(i);
    for (const i of this.#ended) if (this.#state(i) === "left") visit(i);
    return out;
  }

  /** A member's news about itself: joins, updates and refutations. */
  applyAlive(record: MemberRecord, incarnation: number, now: number): MembershipEvent[] {
    const i = this.#find(record.id);
    if (i === this.#self) return [];
    if (i === undefined) return this.#join(record, "alive", incarnation, now);
    const c = this.#c;
    // A process keeps its name for life: a record that renames an id is not its own.
    if (c.flags[i]! & REPLACED || incarnation <= c.incarnation[i]! || record.name !== this.#recordOf(i).name) return [];
    const before = this.#state(i);
    const changed = !sameRecord(this.#recordOf(i), record);
    this.#unaccount(i);
    if (changed) this.#setRecord(i, internRecord(record));
    c.incarnation[i] = incarnation;
    if (before !== "alive") {
      this.#setState(i, "alive");
      c.since[i] = now;
    }
    this.#account(i);
    if (before !== "alive") return [{ type: "alive", member: this.#snapshot(i) }];
    return changed ? [{ type: "update", member: this.#snapshot(i) }] : [];
  }

  /**
   * Brings back a member held suspect or dead at exactly `incarnation`, with no
   * higher incarnation: for a member that just answered this node's own probe
   * while another view holds it alive at that incarnation (a healed partition).
   * Not for news: news never undoes a suspicion or a death at its incarnation.
   */
  revive(id: string, incarnation: number, now: number): MembershipEvent[] {
    const i = this.#usable(id, incarnation);
    if (i === undefined || this.#c.incarnation[i] !== incarnation) return [];
    const state = this.#state(i);
    if (state !== "suspect" && state !== "dead") return [];
    this.#unaccount(i);
    this.#setState(i, "alive");
    this.#c.since[i] = now;
    this.#account(i);
    return [{ type: "alive", member: this.#snapshot(i) }];
  }

  /** Returns `confirm` when the member was already suspected at that incarnation or later. */
  applySuspect(id: string, incarnation: number, now: number): MembershipEvent[] | "confirm" {
    const i = this.#usable(id, incarnation);
    if (i === undefined) return [];
    const state = this.#state(i);
    if (state === "dead" || state === "left") return [];
    this.#unaccount(i);
    // A suspicion at a newer incarnation than the one held is still the same suspicion.
    this.#c.incarnation[i] = incarnation;
    if (state !== "suspect") {
      this.#setState(i, "suspect");
      this.#c.since[i] = now;
    }
    this.#account(i);
    return state === "suspect" ? "confirm" : [{ type: "suspect", member: this.#snapshot(i) }];
  }

  applyDead(id: string, incarnation: number, now: number): MembershipEvent[] {
    const i = this.#usable(id, incarnation);
    if (i === undefined || this.#state(i) === "dead" || this.#state(i) === "left") return [];
    return this.#end(i, "dead", incarnation, now);
  }

  applyLeft(id: string, incarnation: number, now: number): MembershipEvent[] {
    const i = this.#usable(id, incarnation);
    if (i === undefined || this.#state(i) === "left") return [];
    return this.#end(i, "left", incarnation, now);
  }

  /**
   * Members known before anything runs (a simulation starting from a formed
   * cluster): listed alive at their incarnation, with no events. One whose id
   * or name is already held is left out. The same list given to many tables is
   * resolved (interned, hashed) once: 10,000 tables of 10,000 members load in
   * seconds.
   */
  preload(known: ReadonlyArray<{ record: MemberRecord; incarnation: number }>, now: number): void {
    for (const { i, share } of insertBatch(this.#c, resolveBatch(known, this.#c.scope), now)) {
      this.#buckets[bucketOf(this.#ids.hash(i))]! ^= share;
      this.#active++;
      addToList(this.#lists[ALIVE], this.#c.slot, i);
    }
  }

  /**
   * A member this node never knew, dead or left since `since` by another view:
   * listed as such (a newcomer learns of recent deaths), under the same rules
   * of names as a join. Known members are not touched: news of them goes
   * through `applySuspect`/`applyDead`/`applyLeft`.
   */
  applyEnded(record: MemberRecord, state: "dead" | "left", incarnation: number, since: number): MembershipEvent[] {
    if (this.#find(record.id) !== undefined) return [];
    return this.#join(record, state, incarnation, since);
  }

  /** Forgets dead, left and replaced members whose state is older than `age`; returns their ids. */
  reap(now: number, age: number): string[] {
    const gone: string[] = [];
    const c = this.#c;
    for (const i of this.#ended) {
      if (now - c.since[i]! < age) continue;
      gone.push(this.#recordOf(i).id);
      this.#unaccount(i);
      this.#ended.delete(i);
      const name = c.name[i]!;
      if (c.holder[name] === i + 1) c.holder[name] = 0;
      c.flags[i] = 0;
      records.release(c.record[i]!);
      this.#ids.release(i);
      this.#names.release(name);
    }
    return gone;
  }

  // ---- entries --------------------------------------------------------------

  #find(id: string): number | undefined {
    const i = this.#ids.find(id);
    return i !== undefined && i < this.#c.flags.length && this.#c.flags[i]! & PRESENT ? i : undefined;
  }

  #recordOf(i: number): Readonly<MemberRecord> {
    return records.get(this.#c.record[i]!);
  }

  /** Replaces an entry's record, holding the new one and letting the old go. */
  #setRecord(i: number, record: Readonly<MemberRecord>): void {
    const next = records.acquire(record);
    records.release(this.#c.record[i]!);
    this.#c.record[i] = next;
  }

  #state(i: number): MemberState {
    return STATES[this.#c.flags[i]! & STATE_MASK]!;
  }

  #setState(i: number, state: MemberState): void {
    this.#c.flags[i] = (this.#c.flags[i]! & ~STATE_MASK) | CODE[state];
  }

  #snapshot(i: number): Member {
    const c = this.#c;
    return Object.freeze({ record: records.get(c.record[i]!), state: this.#state(i), incarnation: c.incarnation[i]!, since: c.since[i]! });
  }

  /** An entry that news at `incarnation` may change: known, not replaced, not self, not stale. */
  #usable(id: string, incarnation: number): number | undefined {
    const i = this.#find(id);
    if (i === undefined || i === this.#self || this.#c.flags[i]! & REPLACED || incarnation < this.#c.incarnation[i]!) return undefined;
    return i;
  }

  #end(i: number, state: "dead" | "left", incarnation: number, now: number): MembershipEvent[] {
    this.#unaccount(i);
    this.#setState(i, state);
    this.#c.incarnation[i] = incarnation;
    this.#c.since[i] = now;
    this.#account(i);
    return [{ type: state, member: this.#snapshot(i) }];
  }

  #join(record: MemberRecord, state: "alive" | "dead" | "left", incarnation: number, now: number): MembershipEvent[] {
    const events: MembershipEvent[] = [];
    const c = this.#c;
    const nameIndex = this.#names.find(record.name);
    const holder = nameIndex === undefined || nameIndex >= c.holder.length ? 0 : c.holder[nameIndex]!;
    if (holder > 0) {
      const h = holder - 1;
      // The node's own name is never given away; an id that started earlier is
      // stale news; one that claims the very same start against a live holder is
      // a forgery or a corruption (a restart always starts later), not a restart.
      if (h === this.#self) return [];
      const started = record.started ?? 0;
      const holderStarted = this.#recordOf(h).started ?? 0;
      const holderState = this.#state(h);
      const live = holderState === "alive" || holderState === "suspect";
      if (started < holderStarted || (started === holderStarted && (live || record.id < this.#recordOf(h).id))) return [];
      this.#unaccount(h);
      c.flags[h]! |= REPLACED;
      this.#setState(h, "left");
      c.since[h] = Math.max(c.since[h]!, now);
      this.#account(h);
      if (live) events.push({ type: "left", member: this.#snapshot(h) });
    }
    const i = this.#insert(internRecord(record), state, incarnation, now);
    events.push({ type: state === "alive" ? "join" : state, member: this.#snapshot(i) });
    return events;
  }

  /** A new entry, holding its name. */
  #insert(record: Readonly<MemberRecord>, state: MemberState, incarnation: number, now: number): number {
    const i = this.#ids.acquire(record.id);
    const name = this.#names.acquire(record.name);
    growColumns(this.#c, i, name);
    const c = this.#c;
    c.flags[i] = PRESENT | CODE[state];
    c.incarnation[i] = incarnation;
    c.since[i] = now;
    c.slot[i] = -1;
    c.name[i] = name;
    c.record[i] = records.acquire(record);
    c.holder[name] = i + 1;
    this.#account(i);
    return i;
  }

  /** Takes an entry out of the digest, the ready lists and the counts, before a change. */
  #unaccount(i: number): void {
    const c = this.#c;
    const flags = c.flags[i]!;
    const state = this.#state(i);
    if (state === "alive" || state === "suspect") this.#active--;
    if (flags & REPLACED) return;
    this.#buckets[bucketOf(this.#ids.hash(i))]! ^= entryHash(this.#ids.hash(i), c.incarnation[i]!, state);
    if (c.slot[i]! >= 0) removeFromList(this.#lists[listOf(state)], c.slot, i);
  }

  /** Puts an entry back, as it is after a change. */
  #account(i: number): void {
    const c = this.#c;
    const state = this.#state(i);
    if (state === "alive" || state === "suspect") this.#active++;
    if (c.flags[i]! & REPLACED) {
      this.#ended.add(i);
      return;
    }
    this.#buckets[bucketOf(this.#ids.hash(i))]! ^= entryHash(this.#ids.hash(i), c.incarnation[i]!, state);
    // By id: the constructor accounts for its own entry before it knows its number.
    if (this.#recordOf(i).id === this.#selfId) return;
    if (state === "left") {
      this.#ended.add(i);
      return;
    }
    addToList(this.#lists[listOf(state)], c.slot, i);
    if (state === "dead") this.#ended.add(i);
    else this.#ended.delete(i);
  }
}

function listOf(state: MemberState): typeof ALIVE | typeof SUSPECT | typeof DEAD {
  return state === "alive" ? ALIVE : state === "suspect" ? SUSPECT : DEAD;
}
