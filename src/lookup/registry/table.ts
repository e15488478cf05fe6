import type { Member, MemberRecord, MembershipEvent } from "../types.ts";

/** How long a dead or departed member stays listed before it is forgotten (ms). */
export const REAP_AFTER = 60_000;

interface Entry {
  member: Member;
  expires: number;
}

/**
 * The registry's member table: records that expire unless refreshed, a
 * restart under the same name replacing the old record, and every change
 * reported to listeners.
 */
export class RegistryTable {
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<(event: MembershipEvent) => void>();
  #incarnation = 0;

  /** Registers or refreshes a record. */
  register(record: MemberRecord, ttl: number, now: number): void {
    for (const [id, entry] of this.#entries) {
      const old = entry.member;
      if (id !== record.id && old.record.name === record.name && old.record.cluster === record.cluster && old.state !== "left") {
        // The same node restarted: the new incarnation replaces the old everywhere.
        this.#set(id, { ...old, state: "left", since: now, incarnation: ++this.#incarnation }, now + REAP_AFTER, "left");
      }
    }
    const entry = this.#entries.get(record.id);
    if (!entry) {
      this.#set(record.id, { record, state: "alive", incarnation: ++this.#incarnation, since: now }, now + ttl, "join");
      return;
    }
    const member = entry.member;
    const revived = member.state !== "alive";
    if (revived || JSON.stringify(member.record) !== JSON.stringify(record)) {
      this.#set(
        record.id,
        { record, state: "alive", incarnation: ++this.#incarnation, since: revived ? now : member.since },
        now + ttl,
        revived ? "alive" : "update",
      );
    } else {
      entry.expires = now + ttl;
    }
  }

  /** Marks a member as having left. */
  deregister(id: string, now: number): boolean {
    const entry = this.#entries.get(id);
    if (!entry || entry.member.state === "left") return false;
    this.#set(id, { ...entry.member, state: "left", since: now, incarnation: ++this.#incarnation }, now + REAP_AFTER, "left");
    return true;
  }

  /** Declares expired members dead and forgets the long gone. */
  sweep(now: number): void {
    for (const [id, entry] of this.#entries) {
      if (entry.expires > now) continue;
      if (entry.member.state === "alive" || entry.member.state === "suspect") {
        this.#set(id, { ...entry.member, state: "dead", since: now, incarnation: ++this.#incarnation }, now + REAP_AFTER, "dead");
      } else {
        this.#entries.delete(id);
      }
    }
  }

  members(): Member[] {
    return [...this.#entries.values()].map((entry) => entry.member);
  }

  on(listener: (event: MembershipEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #set(id: string, member: Member, expires: number, type: MembershipEvent["type"]): void {
    this.#entries.set(id, { member, expires });
    const event: MembershipEvent = { type, member };
    for (const listener of this.#listeners) listener(event);
  }
}
