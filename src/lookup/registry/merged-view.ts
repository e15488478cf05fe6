import type { Member, MembershipEvent } from "../types.ts";

/** What one registry link holds about one member. */
export interface LinkEntry {
  member: Member;
  /**
   * Heard from the registry since the link last (re)connected. False for what
   * is only last known: the link is down, or the registry is too young to have
   * heard every live member again since it started.
   */
  fresh: boolean;
  /** Order of arrival over all links: of two equal opinions, the newer wins. */
  seq: number;
}

/** A link's entries, and whether its registry is reachable now. */
export interface LinkState {
  readonly up: boolean;
  readonly entries: Map<string, LinkEntry>;
}

const live = (member: Member): boolean => member.state === "alive" || member.state === "suspect";

/**
 * How much an opinion counts: what a reachable registry says now beats what
 * was last known; "alive" beats "gone" at equal standing (a member that
 * reaches one registry is alive, even when another lost it).
 */
function rank(link: LinkState, entry: LinkEntry): number {
  const fresh = link.up && entry.fresh;
  return (fresh ? 2 : 0) + (live(entry.member) ? 2 : 1);
}

/** Rank of "gone", said by a reachable registry now. */
const FRESH_GONE = 3;
/** Rank of "alive", last known from a registry out of reach. */
const STALE_ALIVE = 2;

/**
 * The member `id` as the links together say, or undefined when none knows it.
 * A registry that is up and says "gone" also retires what unreachable ones
 * last said of it ("alive"): otherwise that stale word would bring the member
 * back once the reachable registry forgets it.
 */
export function chooseMember(links: Iterable<LinkState>, id: string): Member | undefined {
  let best: { rank: number; seq: number; member: Member } | undefined;
  const all = [...links];
  for (const link of all) {
    const entry = link.entries.get(id);
    if (!entry) continue;
    const r = rank(link, entry);
    if (!best || r > best.rank || (r === best.rank && entry.seq > best.seq)) best = { rank: r, seq: entry.seq, member: entry.member };
  }
  if (best?.rank === FRESH_GONE) {
    for (const link of all) {
      const entry = link.entries.get(id);
      if (entry && rank(link, entry) === STALE_ALIVE) link.entries.delete(id);
    }
  }
  return best?.member;
}

/**
 * A node's view over one or more registries: each member as the links
 * together say (see {@link chooseMember}), with an event for each change. A
 * member no link knows any more leaves as "dead".
 */
export class MergedView {
  readonly #links: () => Iterable<LinkState>;
  readonly #emit: (event: MembershipEvent) => void;
  readonly #members = new Map<string, Member>();
  #incarnation = 0;

  constructor(links: () => Iterable<LinkState>, emit: (event: MembershipEvent) => void) {
    this.#links = links;
    this.#emit = emit;
  }

  /** Every member known, alive or recently gone. */
  members(): Member[] {
    return [...this.#members.values()];
  }

  /** Recomputes `id`, or every member when no id is given, and emits what changed. */
  reconcile(id?: string): void {
    if (id !== undefined) return this.#one(id);
    const ids = new Set(this.#members.keys());
    for (const link of this.#links()) for (const key of link.entries.keys()) ids.add(key);
    for (const key of ids) this.#one(key);
  }

  #one(id: string): void {
    const chosen = chooseMember(this.#links(), id);
    const before = this.#members.get(id);
    if (!chosen) {
      if (!before) return;
      this.#members.delete(id);
      if (live(before)) this.#set(id, { ...before, state: "dead" }, before, "dead", false);
      return;
    }
    if (before && before.state === chosen.state && sameRecord(before, chosen)) return;
    let type: MembershipEvent["type"];
    if (live(chosen)) type = !before ? "join" : live(before) ? (before.state === chosen.state ? "update" : chosen.state === "suspect" ? "suspect" : "alive") : "alive";
    else type = chosen.state === "left" ? "left" : "dead";
    this.#set(id, chosen, before, type, true);
  }

  #set(id: string, chosen: Member, before: Member | undefined, type: MembershipEvent["type"], keep: boolean): void {
    const stateChanged = !before || before.state !== chosen.state;
    const member: Member = { record: chosen.record, state: chosen.state, incarnation: ++this.#incarnation, since: stateChanged ? Date.now() : before.since };
    if (keep) this.#members.set(id, member);
    this.#emit({ type, member });
  }
}

function sameRecord(a: Member, b: Member): boolean {
  return a.record === b.record || JSON.stringify(a.record) === JSON.stringify(b.record);
}
