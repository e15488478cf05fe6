import type { MemberRecord } from "./types.ts";

/**
 * The frozen, shared copy of a record: one object per id and content, whichever
 * table of this process holds it and however many datagrams carried it. A table
 * entry holds only a reference, so a process that simulates many nodes keeps
 * one copy of each record, not one per node. Weakly held: a record no table
 * uses any more is collected.
 */
export function internRecord(record: MemberRecord): Readonly<MemberRecord> {
  const held = interned.get(record.id)?.deref();
  if (held === record || (held && sameRecord(held, record))) return held;
  // A record frozen through by its owner is shared as it is (a simulation hands
  // every node the same objects; they are then found by identity, not compared).
  const frozen = isFrozenThrough(record) ? record : freezeRecord(record);
  interned.set(record.id, new WeakRef(frozen));
  forget.register(frozen, record.id);
  return frozen;
}

const interned = new Map<string, WeakRef<Readonly<MemberRecord>>>();
const forget = new FinalizationRegistry<string>((id) => {
  if (interned.get(id)?.deref() === undefined) interned.delete(id);
});

function isFrozenThrough(record: MemberRecord): boolean {
  return (
    Object.isFrozen(record) &&
    Object.isFrozen(record.addresses) &&
    Object.isFrozen(record.labels) &&
    Object.isFrozen(record.services) &&
    record.services.every((pair) => Object.isFrozen(pair))
  );
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
