import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Seals and opens datagrams. The first byte says how a datagram is sealed:
 * `PLAIN` then the message, or `KEYED` then an HMAC-SHA256 of the message under
 * the cluster key, then the message. A node with a key drops plain datagrams
 * and wrong MACs; a node without one drops keyed datagrams it cannot check.
 *
 * The MAC proves the sender knows the key, not that the message is fresh: a
 * replayed message is harmless because incarnations only move forward.
 */
export interface Sealer {
  seal(message: Uint8Array): Uint8Array;
  /** The message, or null when the datagram is not sealed the way this node expects. */
  open(datagram: Uint8Array): Uint8Array | null;
}

const PLAIN = 0x01;
const KEYED = 0x02;
const MAC_SIZE = 32;

/** Bytes sealing adds to a message, at most. */
export const SEAL_OVERHEAD = 1 + MAC_SIZE;

/** A sealer for `key` (a string is taken as UTF-8), or for no key. */
export function createSealer(key?: string | Uint8Array): Sealer {
  if (key === undefined) return plainSealer;
  const secret = typeof key === "string" ? Buffer.from(key, "utf8") : Buffer.from(key);
  if (secret.length === 0) throw new RangeError("the cluster key must not be empty");
  const mac = (message: Uint8Array): Buffer => createHmac("sha256", secret).update(message).digest();
  return {
    seal(message) {
      const out = Buffer.allocUnsafe(1 + MAC_SIZE + message.length);
      out[0] = KEYED;
      mac(message).copy(out, 1);
      out.set(message, 1 + MAC_SIZE);
      return out;
    },
    open(datagram) {
      if (datagram.length <= 1 + MAC_SIZE || datagram[0] !== KEYED) return null;
      const message = datagram.subarray(1 + MAC_SIZE);
      const expected = mac(message);
      const given = datagram.subarray(1, 1 + MAC_SIZE);
      return timingSafeEqual(expected, given) ? message : null;
    },
  };
}

const plainSealer: Sealer = {
  seal(message) {
    const out = new Uint8Array(1 + message.length);
    out[0] = PLAIN;
    out.set(message, 1);
    return out;
  },
  open(datagram) {
    return datagram.length > 1 && datagram[0] === PLAIN ? datagram.subarray(1) : null;
  },
};
