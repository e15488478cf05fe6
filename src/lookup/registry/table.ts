import type { Member, MemberRecord, MembershipEvent } from "../types.ts";

/** How long a dead or departed member stays listed before it is forgotten (ms). */
export const REAP_AFTER = 60_000;

interface Entry {
  member: Member;
  expires: number;
  /** Who registered it, when the registrant proved an identity stronger than its node id (a certificate). */
  owner: string | undefined;
}

/** Why a write was refused: the record belongs to another registrant. */
export interface WriteRefusal {
  refused: string;
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

  /**
   * Registers or refreshes a record for `owner` (undefined: a registrant
   * known by its node id alone). A record someone else owns is not touched:
   * neither refreshed, replaced, nor evicted as an earlier incarnation.
   */
  register(record: MemberRecord, ttl: number, now: number, owner?: string): WriteRefusal | null {
    const entry = this.#entries.get(record.id);
    if (entry && isLive(entry) && entry.owner !== owner) return { refused: `record ${record.id} was registered by ${entry.owner ?? "a registrant without a certificate or token"}` };
    for (const [id, other] of this.#entries) {
      const old = other.member;
      if (id !== record.id && old.record.name === record.name && old.record.cluster === record.cluster && old.state !== "left" && other.owner === owner) {
        // The same node restarted: the new incarnation replaces the old everywhere.
        this.#set(id, { ...old, state: "left", since: now, incarnation: ++this.#incarnation }, now + REAP_AFTER, "left", other.owner);
      }
    }
    if (!entry) {
      this.#set(record.id, { record, state: "alive", incarnation: ++this.#incarnation, since: now }, now + ttl, "join", owner);
      return null;
    }
    const member = entry.member;
    const revived = member.state !== "alive";
    if (revived || JSON.stringify(member.record) !== JSON.stringify(record)) {
      this.#set(
        record.id,
        { record, state: "alive", incarnation: ++this.#incarnation, since: revived ? now : member.since },
        now + ttl,
        revived ? "alive" : "update",
        owner,
      );
    } else {
      entry.expires = now + ttl;
    }
    return null;
  }

  /** Marks a member as having left: for its owner only. */
  deregister(id: string, now: number, owner?: string): boolean | WriteRefusal {
    const entry = this.#entries.get(id);
    if (!entry || entry.member.state === "left") return false;
    if (entry.owner !== owner) return { refused: `record ${id} was registered by ${entry.owner ?? "a registrant without a certificate or token"}` };
    this.#set(id, { ...entry.member, state: "left", since: now, incarnation: ++this.#incarnation }, now + REAP_AFTER, "left", entry.owner);
    return true;
  }

  /** Declares expired members dead and forgets the long gone. */
  sweep(now: number): void {
    for (const [id, entry] of this.#entries) {
      if (entry.expires > now) continue;
      if (entry.member.state === "alive" || entry.member.state === "suspect") {
        this.#set(id, { ...entry.member, state: "dead", since: now, incarnation: ++this.#incarnation }, now + REAP_AFTER, "dead", entry.owner);
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

  #set(id: string, member: Member, expires: number, type: MembershipEvent["type"], owner: string | undefined): void {
    this.#entries.set(id, { member, expires, owner });
    const event: MembershipEvent = { type, member };
    for (const listener of this.#listeners) listener(event);
  }
}

/** A record still held for its registrant: alive or suspect, not yet expired. */
function isLive(entry: Entry): boolean {
  return entry.member.state === "alive" || entry.member.state === "suspect";
}
