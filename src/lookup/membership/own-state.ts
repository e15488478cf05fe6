import { SEAL_OVERHEAD } from "./auth.ts";
import { checkRecord, entrySize, packetOverhead, type StateEntry } from "./codec.ts";
import type { MembershipConfig } from "./config.ts";
import { shuffle } from "./random-pick.ts";
import type { MemberTable } from "./state.ts";
import type { MemberRecord } from "./types.ts";

/**
 * Checks this node's own record: well-formed, and small enough to travel in a
 * gossip packet of its own — or it could never spread.
 */
export function checkOwnRecord(config: MembershipConfig, record: MemberRecord): MemberRecord {
  let checked: MemberRecord;
  try {
    checked = checkRecord(record);
  } catch (error) {
    throw new RangeError(`invalid member record: ${(error as Error).message}`);
  }
  const size = entrySize({ kind: "alive", incarnation: 0xffffffff, record: checked }) + packetOverhead(checked.cluster, checked.id) + SEAL_OVERHEAD;
  if (size > config.maxPacketSize) {
    throw new RangeError(`member record takes ${size} bytes in a gossip packet, above maxPacketSize ${config.maxPacketSize}`);
  }
  return checked;
}

/** This node's view for a push-pull, cut to fit `room` bytes: self, the living, then the rest. */
export function viewForPushPull(table: MemberTable, random: () => number, room: number): StateEntry[] {
  const rank = { alive: 0, suspect: 0, dead: 1, left: 2 } as const;
  const others = shuffle(table.others(["alive", "suspect", "dead", "left"]), random).sort((a, b) => rank[a.state] - rank[b.state]);
  const out: StateEntry[] = [];
  for (const member of [table.self, ...others]) {
    const entry: StateEntry = { state: member.state, incarnation: member.incarnation, record: member.record };
    room -= entrySize(entry);
    if (room < 0) break;
    out.push(entry);
  }
  return out;
}
