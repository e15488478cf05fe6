import { decodeBody, encodeBody, WireError } from "../../wire/index.ts";
import { DIGEST_BUCKETS } from "./digest.ts";
import type { MemberRecord, MemberState } from "./types.ts";

/**
 * Gossip messages as plain msgpack (the settings of the RPC wire). A datagram
 * holds one packet: `[version, cluster, sender id, type, body, gossip]`, where
 * `gossip` carries piggybacked broadcasts. Decoding checks every field and
 * every size: a packet with anything wrong in it is refused whole, so a bad
 * peer can make a node drop a datagram but never store half of one.
 */

/** A piggybacked broadcast about one member. */
export type GossipEntry =
  | { kind: "alive"; incarnation: number; record: MemberRecord }
  | { kind: "suspect" | "dead"; id: string; incarnation: number; from: string }
  | { kind: "left"; id: string; incarnation: number };

/** One member in an anti-entropy exchange. */
export interface StateEntry {
  state: MemberState;
  incarnation: number;
  record: MemberRecord;
  /**
   * Dead and left members only: how long ago (ms) the sender saw it end, so that
   * a receiver that did not know the member forgets it when the sender does.
   */
  age?: number;
}

export type Body =
  | { type: "ping"; seq: number; target: string }
  | { type: "ping-req"; seq: number; target: string; address: string }
  | { type: "ack"; seq: number }
  | { type: "nack"; seq: number }
  /** Anti-entropy, first leg: the initiator's digest (one hash per bucket, see digest.ts). */
  | { type: "push"; join: boolean; seq: number; digest: number[] }
  /** Second leg: the responder's records of the buckets that differ, and which of the initiator's it wants. */
  | { type: "pull"; seq: number; states: StateEntry[]; want: number[] }
  | { type: "gossip" }
  /** Third leg: the initiator's records of the buckets the responder asked for. */
  | { type: "sync"; seq: number; states: StateEntry[] };

export interface Packet {
  cluster: string;
  sender: string;
  body: Body;
  gossip: GossipEntry[];
}

/** Bounds on what a decoded packet may hold. */
export const RECORD_LIMITS = Object.freeze({
  id: 128,
  name: 256,
  cluster: 128,
  address: 512,
  addresses: 32,
  labels: 64,
  labelKey: 128,
  labelValue: 512,
  services: 256,
  serviceName: 256,
  serviceVersion: 64,
  gossipEntries: 256,
  stateEntries: 4096,
});

// Version 2: digest-based anti-entropy (push carries a digest, pull and sync carry records).
const VERSION = 2;
const MAX_DEPTH = 8;
const TYPES = ["ping", "ping-req", "ack", "nack", "push", "pull", "gossip", "sync"] as const;
const GOSSIP_KINDS = ["alive", "suspect", "dead", "left"] as const;
const STATES: readonly MemberState[] = ["alive", "suspect", "dead", "left"];

/** Encodes a packet (unsealed). */
export function encodePacket(packet: Packet): Uint8Array {
  return encodeBody([
    VERSION,
    packet.cluster,
    packet.sender,
    TYPES.indexOf(packet.body.type),
    bodyToWire(packet.body),
    packet.gossip.map(gossipToWire),
  ]);
}

/** Bytes a gossip or state entry adds to a packet. */
export function entrySize(entry: GossipEntry | StateEntry): number {
  return encodeBody("kind" in entry ? gossipToWire(entry) : stateToWire(entry)).length;
}

/**
 * Bytes a state entry adds to an anti-entropy packet, at most: the record's size
 * (cached per shared record object) plus room for the state, incarnation, age
 * and array header.
 */
export function stateEntrySize(entry: StateEntry): number {
  let size = recordSizes.get(entry.record);
  if (size === undefined) {
    size = recordSize(entry.record);
    recordSizes.set(entry.record, size);
  }
  return size + 20;
}

const recordSizes = new WeakMap<MemberRecord, number>();

/** Bytes of a packet's envelope with an empty body and no entries, plus slack for array headers. */
export function packetOverhead(cluster: string, sender: string): number {
  return encodeBody([VERSION, cluster, sender, 0, [], []]).length + 16;
}

/** Encodes a record as it travels; also used to check that a node's own record fits. */
export function recordSize(record: MemberRecord): number {
  return encodeBody(recordToWire(record)).length;
}

/** Decodes a packet; throws a WireError when anything in it is out of shape or bounds. */
export function decodePacket(bytes: Uint8Array): Packet {
  const value = decodeBody(bytes, MAX_DEPTH);
  const top = array(value, "packet", 6, 6);
  if (top[0] !== VERSION) bad(`unknown gossip version ${String(top[0])}`);
  const cluster = string(top[1], "cluster", RECORD_LIMITS.cluster);
  const sender = string(top[2], "sender", RECORD_LIMITS.id);
  const type = TYPES[uint(top[3], "type")];
  if (type === undefined) bad(`unknown packet type ${String(top[3])}`);
  const body = bodyFromWire(type, top[4]);
  const gossip = array(top[5], "gossip", 0, RECORD_LIMITS.gossipEntries).map(gossipFromWire);
  return { cluster, sender, body, gossip };
}

/** Checks a record (e.g. a node's own) the way a receiver would; throws a WireError. */
export function checkRecord(record: MemberRecord): MemberRecord {
  return recordFromWire(recordToWire(record));
}

function bodyToWire(body: Body): unknown[] {
  switch (body.type) {
    case "ping":
      return [body.seq, body.target];
    case "ping-req":
      return [body.seq, body.target, body.address];
    case "ack":
    case "nack":
      return [body.seq];
    case "push":
      return [body.join, body.seq, body.digest];
    case "pull":
      return [body.seq, body.states.map(stateToWire), body.want];
    case "gossip":
      return [];
    case "sync":
      return [body.seq, body.states.map(stateToWire)];
  }
}

function bodyFromWire(type: Body["type"], value: unknown): Body {
  switch (type) {
    case "ping": {
      const [seq, target] = array(value, "ping", 2, 2);
      return { type, seq: uint(seq, "seq"), target: string(target, "target", RECORD_LIMITS.id) };
    }
    case "ping-req": {
      const [seq, target, address] = array(value, "ping-req", 3, 3);
      return {
        type,
        seq: uint(seq, "seq"),
        target: string(target, "target", RECORD_LIMITS.id),
        address: string(address, "address", RECORD_LIMITS.address),
      };
    }
    case "ack":
    case "nack": {
      const [seq] = array(value, type, 1, 1);
      return { type, seq: uint(seq, "seq") };
    }
    case "push": {
      const [join, seq, digest] = array(value, "push", 3, 3);
      if (typeof join !== "boolean") bad("push join flag is not a boolean");
      // Exactly one hash per bucket: a digest of another shape cannot be compared.
      const hashes = array(digest, "digest", DIGEST_BUCKETS, DIGEST_BUCKETS).map((h) => uint32(h, "bucket hash"));
      return { type, join, seq: uint(seq, "seq"), digest: hashes };
    }
    case "pull": {
      const [seq, states, want] = array(value, "pull", 3, 3);
      return {
        type,
        seq: uint(seq, "seq"),
        states: array(states, "states", 0, RECORD_LIMITS.stateEntries).map(stateFromWire),
        want: array(want, "wanted buckets", 0, DIGEST_BUCKETS).map((b) => bucket(b)),
      };
    }
    case "gossip":
      array(value, "gossip body", 0, 0);
      return { type };
    case "sync": {
      const [seq, states] = array(value, "sync", 2, 2);
      return { type, seq: uint(seq, "seq"), states: array(states, "states", 0, RECORD_LIMITS.stateEntries).map(stateFromWire) };
    }
  }
}

function gossipToWire(entry: GossipEntry): unknown[] {
  const kind = GOSSIP_KINDS.indexOf(entry.kind);
  switch (entry.kind) {
    case "alive":
      return [kind, entry.incarnation, recordToWire(entry.record)];
    case "suspect":
    case "dead":
      return [kind, entry.incarnation, entry.id, entry.from];
    case "left":
      return [kind, entry.incarnation, entry.id];
  }
}

function gossipFromWire(value: unknown): GossipEntry {
  const items = array(value, "gossip entry", 3, 4);
  const kind = GOSSIP_KINDS[uint(items[0], "gossip kind")];
  const incarnation = uint(items[1], "incarnation");
  switch (kind) {
    case "alive":
      if (items.length !== 3) bad("alive entry has extra fields");
      return { kind, incarnation, record: recordFromWire(items[2]) };
    case "suspect":
    case "dead":
      if (items.length !== 4) bad(`${kind} entry needs 4 fields`);
      return {
        kind,
        incarnation,
        id: string(items[2], "id", RECORD_LIMITS.id),
        from: string(items[3], "from", RECORD_LIMITS.id),
      };
    case "left":
      if (items.length !== 3) bad("left entry has extra fields");
      return { kind, incarnation, id: string(items[2], "id", RECORD_LIMITS.id) };
    default:
      bad(`unknown gossip kind ${String(items[0])}`);
  }
}

function stateToWire(entry: StateEntry): unknown[] {
  const wire = [STATES.indexOf(entry.state), entry.incarnation, recordToWire(entry.record)];
  if ((entry.state === "dead" || entry.state === "left") && entry.age !== undefined) wire.push(Math.max(0, Math.floor(entry.age)));
  return wire;
}

function stateFromWire(value: unknown): StateEntry {
  const items = array(value, "state entry", 3, 4);
  const name = STATES[uint(items[0], "state")];
  if (name === undefined) bad(`unknown member state ${String(items[0])}`);
  const entry: StateEntry = { state: name, incarnation: uint(items[1], "incarnation"), record: recordFromWire(items[2]) };
  if (items.length === 4) {
    if (name !== "dead" && name !== "left") bad(`an ${name} state entry has no age`);
    entry.age = uint(items[3], "age");
  }
  return entry;
}

function recordToWire(record: MemberRecord): unknown[] {
  return [
    record.id,
    record.name,
    record.cluster,
    record.gossip,
    record.addresses,
    record.labels,
    record.services,
    record.load,
    record.started ?? 0,
  ];
}

function recordFromWire(value: unknown): MemberRecord {
  const items = array(value, "record", 9, 9);
  const labelsIn = items[5];
  if (labelsIn === null || typeof labelsIn !== "object" || Array.isArray(labelsIn) || labelsIn instanceof Uint8Array || labelsIn instanceof Date) {
    bad("labels are not a map");
  }
  const labelKeys = Object.keys(labelsIn);
  if (labelKeys.length > RECORD_LIMITS.labels) bad(`more than ${RECORD_LIMITS.labels} labels`);
  const labels: Record<string, string> = {};
  for (const key of labelKeys) {
    string(key, "label key", RECORD_LIMITS.labelKey);
    if (key === "__proto__") continue;
    labels[key] = string((labelsIn as Record<string, unknown>)[key], "label value", RECORD_LIMITS.labelValue);
  }
  const load = items[7];
  if (typeof load !== "number" || !Number.isFinite(load)) bad("load is not a finite number");
  const started = items[8];
  if (typeof started !== "number" || !Number.isFinite(started) || started < 0) bad("started is not a time");
  return {
    id: string(items[0], "id", RECORD_LIMITS.id, 1),
    name: string(items[1], "name", RECORD_LIMITS.name, 1),
    cluster: string(items[2], "cluster", RECORD_LIMITS.cluster),
    gossip: string(items[3], "gossip address", RECORD_LIMITS.address, 1),
    addresses: array(items[4], "addresses", 0, RECORD_LIMITS.addresses).map((a) => string(a, "address", RECORD_LIMITS.address)),
    labels,
    services: array(items[6], "services", 0, RECORD_LIMITS.services).map((service) => {
      const [name, version] = array(service, "service", 2, 2);
      return [string(name, "service name", RECORD_LIMITS.serviceName, 1), string(version, "service version", RECORD_LIMITS.serviceVersion)];
    }),
    load,
    started,
  };
}

function array(value: unknown, what: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) bad(`${what} is not an array`);
  if (value.length < min || value.length > max) bad(`${what} has ${value.length} items, expected ${min}..${max}`);
  return value;
}

function string(value: unknown, what: string, max: number, min = 0): string {
  if (typeof value !== "string") bad(`${what} is not a string`);
  if (value.length < min || value.length > max) bad(`${what} is ${value.length} characters, expected ${min}..${max}`);
  return value;
}

function uint(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) bad(`${what} is not an unsigned integer`);
  return value;
}

function uint32(value: unknown, what: string): number {
  const n = uint(value, what);
  if (n > 0xffffffff) bad(`${what} is above 32 bits`);
  return n;
}

function bucket(value: unknown): number {
  const n = uint(value, "bucket");
  if (n >= DIGEST_BUCKETS) bad(`bucket ${n} is beyond the digest's ${DIGEST_BUCKETS}`);
  return n;
}

function bad(message: string): never {
  throw new WireError("BAD_BODY", message);
}
