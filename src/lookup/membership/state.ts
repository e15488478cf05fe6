import type { Member, MemberRecord, MembershipEvent, MemberState } from "./types.ts";

interface Entry {
  record: Readonly<MemberRecord>;
  state: MemberState;
  incarnation: number;
  since: number;
  /** Replaced by a newer id under the same name: kept only so that stale news of it is ignored. */
  replaced: boolean;
}

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
 */
export class MemberTable {
  readonly #entries = new Map<string, Entry>();
  /** Name → the id that holds it (not replaced). */
  readonly #byName = new Map<string, string>();
  readonly #selfId: string;
  // activeCount() is asked on every send; it is recounted only after a change.
  #active = -1;

  constructor(self: MemberRecord, now: number) {
    this.#selfId = self.id;
    this.#entries.set(self.id, { record: freezeRecord(self), state: "alive", incarnation: 0, since: now, replaced: false });
    this.#byName.set(self.name, self.id);
  }

  /** This node's own entry. */
  get self(): Member {
    return snapshot(this.#entries.get(this.#selfId)!);
  }

  /** Sets this node's own record, incarnation or state. */
  setSelf(change: { record?: MemberRecord; incarnation?: number; state?: MemberState }, now: number): Member {
    this.#active = -1;
    const entry = this.#entries.get(this.#selfId)!;
    if (change.record) entry.record = freezeRecord(change.record);
    if (change.incarnation !== undefined) entry.incarnation = change.incarnation;
    if (change.state !== undefined && change.state !== entry.state) {
      entry.state = change.state;
      entry.since = now;
    }
    return snapshot(entry);
  }

  get(id: string): Member | undefined {
    const entry = this.#entries.get(id);
    return entry && !entry.replaced ? snapshot(entry) : undefined;
  }

  /** Every member, self included; replaced ids are left out. */
  members(): Member[] {
    const out: Member[] = [];
    for (const entry of this.#entries.values()) if (!entry.replaced) out.push(snapshot(entry));
    return out;
  }

  /**
   * Other members in `states` (replaced ids never count), as live views of the
   * table for the caller's immediate use: they change with the table, so copy
   * what must be kept.
   */
  others(states: readonly MemberState[]): Member[] {
    const out: Member[] = [];
    for (const [id, entry] of this.#entries) {
      if (id !== this.#selfId && !entry.replaced && states.includes(entry.state)) out.push(entry);
    }
    return out;
  }

  /** Whether any other member is alive or suspect. */
  hasActiveOthers(): boolean {
    return this.activeCount() > (this.#entries.get(this.#selfId)!.state === "left" ? 0 : 1);
  }

  /** Members alive or suspect, self included: the `n` of the protocol's formulas. */
  activeCount(): number {
    if (this.#active < 0) {
      this.#active = 0;
      for (const entry of this.#entries.values()) if (!entry.replaced && (entry.state === "alive" || entry.state === "suspect")) this.#active++;
    }
    return this.#active;
  }

  /** A member's news about itself: joins, updates and refutations. */
  applyAlive(record: MemberRecord, incarnation: number, now: number): MembershipEvent[] {
    this.#active = -1;
    if (record.id === this.#selfId) return [];
    const entry = this.#entries.get(record.id);
    if (!entry) return this.#join(record, incarnation, now);
    // A process keeps its name for life: a record that renames an id is not its own.
    if (entry.replaced || incarnation <= entry.incarnation || record.name !== entry.record.name) return [];
    const before = entry.state;
    const changed = !sameRecord(entry.record, record);
    if (changed) entry.record = freezeRecord(record);
    entry.incarnation = incarnation;
    if (before !== "alive") {
      entry.state = "alive";
      entry.since = now;
      return [{ type: "alive", member: snapshot(entry) }];
    }
    return changed ? [{ type: "update", member: snapshot(entry) }] : [];
  }

  /** Returns `confirm` when the member was already suspected at that incarnation or later. */
  applySuspect(id: string, incarnation: number, now: number): MembershipEvent[] | "confirm" {
    this.#active = -1;
    const entry = this.#usable(id, incarnation);
    if (!entry || entry.state === "dead" || entry.state === "left") return [];
    if (entry.state === "suspect") {
      // A suspicion at a newer incarnation than the one held is still the same suspicion.
      entry.incarnation = incarnation;
      return "confirm";
    }
    entry.state = "suspect";
    entry.incarnation = incarnation;
    entry.since = now;
    return [{ type: "suspect", member: snapshot(entry) }];
  }

  applyDead(id: string, incarnation: number, now: number): MembershipEvent[] {
    this.#active = -1;
    const entry = this.#usable(id, incarnation);
    if (!entry || entry.state === "dead" || entry.state === "left") return [];
    entry.state = "dead";
    entry.incarnation = incarnation;
    entry.since = now;
    return [{ type: "dead", member: snapshot(entry) }];
  }

  applyLeft(id: string, incarnation: number, now: number): MembershipEvent[] {
    this.#active = -1;
    const entry = this.#usable(id, incarnation);
    if (!entry || entry.state === "left") return [];
    entry.state = "left";
    entry.incarnation = incarnation;
    entry.since = now;
    return [{ type: "left", member: snapshot(entry) }];
  }

  /** Forgets dead, left and replaced members whose state is older than `age`; returns their ids. */
  reap(now: number, age: number): string[] {
    this.#active = -1;
    const gone: string[] = [];
    for (const [id, entry] of this.#entries) {
      if (id === this.#selfId) continue;
      if ((entry.replaced || entry.state === "dead" || entry.state === "left") && now - entry.since >= age) gone.push(id);
    }
    for (const id of gone) {
      const name = this.#entries.get(id)!.record.name;
      if (this.#byName.get(name) === id) this.#byName.delete(name);
      this.#entries.delete(id);
    }
    return gone;
  }

  /** An entry that news at `incarnation` may change: known, not replaced, not self, not stale. */
  #usable(id: string, incarnation: number): Entry | undefined {
    if (id === this.#selfId) return undefined;
    const entry = this.#entries.get(id);
    if (!entry || entry.replaced || incarnation < entry.incarnation) return undefined;
    return entry;
  }

  #join(record: MemberRecord, incarnation: number, now: number): MembershipEvent[] {
    const events: MembershipEvent[] = [];
    const holderId = this.#byName.get(record.name);
    const holder = holderId === undefined ? undefined : this.#entries.get(holderId);
    if (holderId !== undefined && holder) {
      // The node's own name is never given away; an id that started earlier is
      // stale news; one that claims the very same start against a live holder is
      // a forgery or a corruption (a restart always starts later), not a restart.
      if (holderId === this.#selfId) return [];
      const started = record.started ?? 0;
      const holderStarted = holder.record.started ?? 0;
      const live = holder.state === "alive" || holder.state === "suspect";
      if (started < holderStarted || (started === holderStarted && (live || record.id < holderId))) return [];
      const wasActive = holder.state === "alive" || holder.state === "suspect";
      holder.replaced = true;
      holder.state = "left";
      holder.since = now;
      if (wasActive) events.push({ type: "left", member: snapshot(holder) });
    }
    const entry: Entry = { record: freezeRecord(record), state: "alive", incarnation, since: now, replaced: false };
    this.#entries.set(record.id, entry);
    this.#byName.set(record.name, record.id);
    events.push({ type: "join", member: snapshot(entry) });
    return events;
  }
}

function snapshot(entry: Entry): Member {
  return Object.freeze({ record: entry.record, state: entry.state, incarnation: entry.incarnation, since: entry.since });
}

/** Records are shared by every snapshot handed out, so they are frozen through. */
export function freezeRecord(record: MemberRecord): Readonly<MemberRecord> {
  return Object.freeze({
    ...record,
    addresses: Object.freeze([...record.addresses]) as string[],
    labels: Object.freeze({ ...record.labels }),
    services: Object.freeze(record.services.map((pair) => Object.freeze([pair[0], pair[1]]))) as Array<[string, string]>,
  });
}

/** Whether two records say the same thing. */
export function sameRecord(a: MemberRecord, b: MemberRecord): boolean {
  if (a.name !== b.name || a.cluster !== b.cluster || a.gossip !== b.gossip || a.load !== b.load || a.started !== b.started) return false;
  if (a.addresses.length !== b.addresses.length || a.addresses.some((x, i) => x !== b.addresses[i])) return false;
  if (a.services.length !== b.services.length || a.services.some((s, i) => s[0] !== b.services[i]![0] || s[1] !== b.services[i]![1])) return false;
  const ak = Object.keys(a.labels);
  const bk = Object.keys(b.labels);
  return ak.length === bk.length && ak.every((k) => a.labels[k] === b.labels[k]);
}
