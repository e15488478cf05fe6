import { shuffle } from "./random-pick.ts";
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
  #order: string[] = [];
  #index = 0;

  constructor(table: MemberTable, selfId: string, random: () => number) {
    this.#table = table;
    this.#selfId = selfId;
    this.#random = random;
  }

  /** The next live member to probe, if any. */
  next(): Member | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.#index < this.#order.length) {
        const member = this.#table.get(this.#order[this.#index++]!);
        if (member && member.record.id !== this.#selfId && (member.state === "alive" || member.state === "suspect")) return member;
      }
      this.#order = shuffle(
        this.#table.others(["alive", "suspect"]).map((member) => member.record.id),
        this.#random,
      );
      this.#index = 0;
    }
    return undefined;
  }

  /** A newcomer goes at a random place among those not yet probed this cycle, so it waits no longer than others. */
  add(id: string): void {
    const from = this.#index;
    const at = from + Math.floor(this.#random() * (this.#order.length - from + 1));
    this.#order.splice(at, 0, id);
  }
}
