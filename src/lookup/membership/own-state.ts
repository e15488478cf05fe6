import { SEAL_OVERHEAD } from "./auth.ts";
import { checkRecord, entrySize, packetOverhead, stateEntrySize, type StateEntry } from "./codec.ts";
import type { MembershipConfig } from "./config.ts";
import { bucketOf, idHash } from "./digest.ts";
import { shuffle } from "./random-pick.ts";
import type { Member, MemberRecord } from "./types.ts";

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

/**
 * Members for an anti-entropy datagram, cut to fit `room` bytes: self first,
 * then whole buckets in random order (within a bucket the living, then the dead,
 * then the left). A datagram that cannot carry every differing bucket carries
 * some of them whole, so the next digest shows them equal and the next exchange
 * sends others: a newcomer to a large cluster fills its view bucket by bucket,
 * with no record sent twice. Dead and left members carry their age.
 */
export function statesForExchange(members: readonly Member[], selfId: string, now: number, random: () => number, room: number): StateEntry[] {
  const rank = { alive: 0, suspect: 0, dead: 1, left: 2 } as const;
  const byBucket = new Map<number, Member[]>();
  const ordered: Member[] = [];
  for (const member of members) {
    if (member.record.id === selfId) {
      ordered.push(member);
      continue;
    }
    const bucket = bucketOf(idHash(member.record.id));
    const list = byBucket.get(bucket);
    if (list) list.push(member);
    else byBucket.set(bucket, [member]);
  }
  for (const bucket of shuffle([...byBucket.keys()], random)) {
    ordered.push(...byBucket.get(bucket)!.sort((a, b) => rank[a.state] - rank[b.state]));
  }
  const out: StateEntry[] = [];
  for (const member of ordered) {
    const entry: StateEntry = { state: member.state, incarnation: member.incarnation, record: member.record };
    if (member.state === "dead" || member.state === "left") entry.age = now - member.since;
    room -= stateEntrySize(entry);
    if (room < 0) break;
    out.push(entry);
  }
  return out;
}
