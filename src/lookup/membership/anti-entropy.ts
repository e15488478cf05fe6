import type { Body, StateEntry } from "./codec.ts";
import type { MembershipConfig } from "./config.ts";
import { bucketOf, idHash, stateClass } from "./digest.ts";
import { statesForExchange } from "./own-state.ts";
import type { MemberTable } from "./state.ts";
import type { Clock } from "./types.ts";

// Anti-entropy exchanges this node started and may still complete (the third
// leg answers only these, so a forged reply cannot make a node send its view).
const MAX_EXCHANGES = 64;

type ExchangeBody<T extends Body["type"]> = Extract<Body, { type: T }>;

/** What {@link AntiEntropy} needs from its membership. */
export interface AntiEntropyOptions {
  config: MembershipConfig;
  clock: Clock;
  random: () => number;
  selfId: string;
  table: MemberTable;
  /** Bytes of a datagram taken by the envelope and the seal. */
  overhead: number;
  nextSeq: () => number;
  send: (to: string, body: Body, limit: number) => void;
  /** Merges another member's records into the view. */
  merge: (sender: string, states: StateEntry[]) => void;
}

/**
 * Anti-entropy by digest, in three legs: `push` (the initiator's 64 bucket
 * hashes), `pull` (the responder's records of the buckets that differ, and the
 * list of them), `sync` (the initiator's records of those buckets, less what the
 * `pull` showed the responder holds at the same version). Equal views exchange a
 * digest and an empty answer.
 */
export class AntiEntropy {
  readonly #o: AntiEntropyOptions;
  readonly #selfBucket: number;
  /** Seq → when, of the exchanges this node started. */
  readonly #exchanges = new Map<number, number>();

  constructor(options: AntiEntropyOptions) {
    this.#o = options;
    this.#selfBucket = bucketOf(idHash(options.selfId));
  }

  /** Starts an exchange with each of `addresses`: our digest, a few hundred bytes. */
  pushTo(addresses: string[], join: boolean): void {
    if (addresses.length === 0) return;
    const o = this.#o;
    const digest = o.table.digest();
    for (const address of addresses) {
      const seq = o.nextSeq();
      this.#exchanges.set(seq, o.clock.now());
      // Oldest first out: an exchange whose answer never came is forgotten.
      if (this.#exchanges.size > MAX_EXCHANGES) this.#exchanges.delete(this.#exchanges.keys().next().value!);
      o.send(address, { type: "push", join, seq, digest }, o.config.maxPushPullSize);
    }
  }

  /** A digest: answer with our records of the buckets that differ, and ask for the initiator's. */
  onPush(from: string, body: ExchangeBody<"push">): void {
    const want = this.#o.table.differingBuckets(body.digest);
    const states = want.length === 0 ? [] : this.#states(new Set(want), null, 3 + want.length);
    this.#o.send(from, { type: "pull", seq: body.seq, states, want }, this.#o.config.maxPushPullSize);
  }

  /** The answer to an exchange: merged; the records it asks for are sent only if this node started the exchange. */
  onPull(from: string, sender: string, body: ExchangeBody<"pull">): void {
    const o = this.#o;
    const before = o.table.self.incarnation;
    o.merge(sender, body.states);
    if (!this.#exchanges.delete(body.seq)) return;
    const buckets = new Set(body.want);
    // A refutation caused by the merge goes back at once.
    if (o.table.self.incarnation !== before) buckets.add(this.#selfBucket);
    if (buckets.size === 0) return;
    // What the responder just sent, it holds: only the rest goes back (a
    // newcomer does not echo the whole view it was just given).
    const held = new Map(body.states.map((entry) => [entry.record.id, entry]));
    const states = this.#states(buckets, held, 0);
    if (states.length > 0) o.send(from, { type: "sync", seq: body.seq, states }, o.config.maxPushPullSize);
  }

  /** Forgets every exchange under way (the node stops). */
  clear(): void {
    this.#exchanges.clear();
  }

  /**
   * Our records of `buckets`, cut to fit one anti-entropy datagram (`extra`
   * bytes are kept for the rest of the body), leaving out those `held` shows the
   * peer holds at the same version, and ended members about to be reaped.
   */
  #states(buckets: ReadonlySet<number>, held: ReadonlyMap<string, StateEntry> | null, extra: number): StateEntry[] {
    const o = this.#o;
    const now = o.clock.now();
    const reap = o.config.reapInterval;
    const members = o.table.inBuckets(buckets).filter((member) => {
      if ((member.state === "dead" || member.state === "left") && now - member.since >= reap) return false;
      const theirs = held?.get(member.record.id);
      return !theirs || theirs.incarnation !== member.incarnation || stateClass(theirs.state) !== stateClass(member.state);
    });
    return statesForExchange(members, o.selfId, now, o.random, o.config.maxPushPullSize - o.overhead - extra);
  }
}
