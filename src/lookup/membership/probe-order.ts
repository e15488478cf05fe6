import type { MemberTable } from "./state.ts";
import type { Member } from "./types.ts";

/**
 * Which member to probe next: round-robin over a shuffled list, so every
 * member is probed once per cycle and a crash is found within two cycles.
 */
export class ProbeOrder {
  readonly #table: MemberTable;
  readonly #selfId: string;
  readonly #random: () => number;
  // Numbers of members (MemberTable.activeNumbers), not ids: no per-node array of
  // pointers, which matters when one process simulates thousands of nodes.
  #order: Int32Array = new Int32Array(0);
  #length = 0;
  #index = 0;

  constructor(table: MemberTable, selfId: string, random: () => number) {
    this.#table = table;
    this.#selfId = selfId;
    this.#random = random;
  }

  /** The next live member to probe, if any. */
  next(): Member | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.#index < this.#length) {
        const member = this.#table.activeAt(this.#order[this.#index++]!);
        if (member && member.record.id !== this.#selfId) return member;
      }
      // One copy and shuffle per cycle of n − 1 probes: O(1) per probe.
      this.#order = this.#table.activeNumbers();
      this.#length = this.#order.length;
      for (let i = this.#length - 1; i > 0; i--) {
        const j = Math.floor(this.#random() * (i + 1));
        const t = this.#order[i]!;
        this.#order[i] = this.#order[j]!;
        this.#order[j] = t;
      }
      this.#index = 0;
    }
    return undefined;
  }

  /** A newcomer goes at a random place among those not yet probed this cycle, so it waits no longer than others. */
  add(id: string): void {
    const n = this.#table.numberOf(id);
    if (n === undefined) return;
    if (this.#length === this.#order.length) {
      const grown = new Int32Array(Math.max(8, 2 * this.#order.length));
      grown.set(this.#order);
      this.#order = grown;
    }
    const from = this.#index;
    const at = from + Math.floor(this.#random() * (this.#length - from + 1));
    this.#order.copyWithin(at + 1, at, this.#length);
    this.#order[at] = n;
    this.#length++;
  }
}
