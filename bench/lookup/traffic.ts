/**
 * Counting membership traffic by kind of datagram, for the real processes and
 * the simulation alike. A datagram is classified by peeking at its header
 * rather than decoding it: the simulation sees every datagram of thousands of
 * nodes, and a full decode would double its cost.
 */

/** What a datagram does: probing, piggybacked gossip rounds, or anti-entropy (digests and the records of differing buckets). */
export type TrafficKind = "probe" | "gossip" | "push-pull" | "other";

/** The kinds, in the order tables print them. */
export const TRAFFIC_KINDS: readonly TrafficKind[] = ["probe", "gossip", "push-pull", "other"];

/** Datagrams and bytes of one kind. */
export interface Flow {
  messages: number;
  bytes: number;
}

/** Datagrams and bytes in one direction, in total and by kind. */
export interface FlowCounts {
  messages: number;
  bytes: number;
  byKind: Record<TrafficKind, Flow>;
}

/** Sent and received counts of one node (or of many, summed). */
export interface TrafficCounts {
  sent: FlowCounts;
  received: FlowCounts;
}

// The packet types in the order of their wire index (src/lookup/membership/codec.ts):
// ping, ping-req, ack, nack, push (digest), pull, gossip, sync.
const KIND_BY_TYPE: readonly TrafficKind[] = ["probe", "probe", "probe", "probe", "push-pull", "push-pull", "gossip", "push-pull"];

// Sealing: a first byte 0x01 (plain) or 0x02 (then a 32-byte HMAC), then msgpack.
const PLAIN = 0x01;
const KEYED = 0x02;
const MAC_SIZE = 32;

/**
 * The kind of a membership datagram, from its msgpack envelope
 * `[version, cluster, sender, type, body, gossip]`; `other` when it does not
 * look like one (then the counts still include it).
 */
export function packetKind(bytes: Uint8Array): TrafficKind {
  let at = bytes[0] === PLAIN ? 1 : bytes[0] === KEYED ? 1 + MAC_SIZE : -1;
  if (at < 0 || bytes[at] !== 0x96) return "other"; // a fixarray of 6
  at += 2; // the header, and the version as a positive fixint
  for (let i = 0; i < 2 && at > 0; i++) at = skipString(bytes, at); // cluster, sender
  if (at < 0 || at >= bytes.length) return "other";
  return KIND_BY_TYPE[bytes[at]!] ?? "other";
}

/** The offset after the msgpack string at `at`, or -1 when there is none. */
function skipString(bytes: Uint8Array, at: number): number {
  const head = bytes[at];
  if (head === undefined) return -1;
  if (head >= 0xa0 && head <= 0xbf) return at + 1 + (head & 0x1f);
  if (head === 0xd9) return at + 2 + (bytes[at + 1] ?? 0);
  if (head === 0xda) return at + 3 + (((bytes[at + 1] ?? 0) << 8) | (bytes[at + 2] ?? 0));
  return -1;
}

/** Zeroed counts. */
export function emptyTraffic(): TrafficCounts {
  return { sent: emptyFlow(), received: emptyFlow() };
}

function emptyFlow(): FlowCounts {
  const byKind = {} as Record<TrafficKind, Flow>;
  for (const kind of TRAFFIC_KINDS) byKind[kind] = { messages: 0, bytes: 0 };
  return { messages: 0, bytes: 0, byKind };
}

/** Counts one datagram into `flow`. */
export function countDatagram(flow: FlowCounts, bytes: Uint8Array): void {
  const kind = flow.byKind[packetKind(bytes)];
  flow.messages++;
  flow.bytes += bytes.length;
  kind.messages++;
  kind.bytes += bytes.length;
}

/** `later − earlier`, field by field: the traffic of a window between two snapshots. */
export function trafficDelta(later: TrafficCounts, earlier: TrafficCounts): TrafficCounts {
  const out = emptyTraffic();
  for (const side of ["sent", "received"] as const) {
    out[side].messages = later[side].messages - earlier[side].messages;
    out[side].bytes = later[side].bytes - earlier[side].bytes;
    for (const kind of TRAFFIC_KINDS) {
      out[side].byKind[kind].messages = later[side].byKind[kind].messages - earlier[side].byKind[kind].messages;
      out[side].byKind[kind].bytes = later[side].byKind[kind].bytes - earlier[side].byKind[kind].bytes;
    }
  }
  return out;
}

/** The sum of many nodes' counts. */
export function sumTraffic(all: readonly TrafficCounts[]): TrafficCounts {
  const out = emptyTraffic();
  for (const one of all) {
    for (const side of ["sent", "received"] as const) {
      out[side].messages += one[side].messages;
      out[side].bytes += one[side].bytes;
      for (const kind of TRAFFIC_KINDS) {
        out[side].byKind[kind].messages += one[side].byKind[kind].messages;
        out[side].byKind[kind].bytes += one[side].byKind[kind].bytes;
      }
    }
  }
  return out;
}

/** Per node per second, from a total over `nodes` nodes and `seconds`. */
export interface Rate {
  /** Datagrams sent per node per second. */
  messages: number;
  /** Bytes sent per node per second. */
  bytes: number;
  /** Bytes sent per node per second, by kind. */
  bytesByKind: Record<TrafficKind, number>;
  /** Bytes received per node per second (less than sent when datagrams were lost). */
  receivedBytes: number;
}

/** The sent traffic of `total`, per node per second. */
export function perNodePerSecond(total: TrafficCounts, nodes: number, seconds: number): Rate {
  const scale = nodes > 0 && seconds > 0 ? 1 / (nodes * seconds) : Number.NaN;
  const bytesByKind = {} as Record<TrafficKind, number>;
  for (const kind of TRAFFIC_KINDS) bytesByKind[kind] = total.sent.byKind[kind].bytes * scale;
  return {
    messages: total.sent.messages * scale,
    bytes: total.sent.bytes * scale,
    bytesByKind,
    receivedBytes: total.received.bytes * scale,
  };
}
