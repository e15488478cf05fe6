/**
 * The envelope of every message between two nodes' inboxes on NATS:
 * `op: u8 | connection: u32 BE | seq: u32 BE | ack: u32 BE`, then the payload.
 * The top bit of `op` says the message comes from the acceptor's end, so that
 * two nodes that dialed each other with the same connection number are told
 * apart. `seq` numbers the messages a connection must deliver in order (DATA,
 * CLOSE, RESET; 0 on the others); `ack` is the last of the peer's messages
 * received in order, so the peer can forget what it kept for resending.
 *
 * - OPEN is a NATS request from the dialer; the acceptor answers it.
 * - DATA carries a slice of the frame stream, exactly as over a socket.
 * - CLOSE: the sender sent everything; the receiver answers with CLOSE.
 * - RESET: the sender dropped the connection (the payload says why).
 * - ACK: only the `ack`, from an end that has received but has nothing to send.
 * - RESUME: "resend what I have not acknowledged": sent after a reconnection
 *   and when a gap shows a message was lost.
 */

export const OP_OPEN = 1;
export const OP_DATA = 2;
export const OP_CLOSE = 3;
export const OP_RESET = 4;
export const OP_ACK = 5;
export const OP_RESUME = 6;
/** Set in `op` on messages from the accepting end. */
export const FROM_ACCEPTOR = 0x80;
/** Bytes of the envelope before the payload. */
export const ENVELOPE_SIZE = 13;
/** Where `ack` sits in the envelope: rewritten when a kept message is sent again. */
export const ACK_OFFSET = 9;

/** Writes an envelope into `target` at 0. */
export function writeEnvelope(target: Uint8Array, op: number, connection: number, seq: number, ack: number): void {
  target[0] = op;
  writeU32(target, 1, connection);
  writeU32(target, 5, seq);
  writeU32(target, ACK_OFFSET, ack);
}

/** A whole message: the envelope and `payload`. */
export function envelope(op: number, connection: number, seq: number, ack: number, payload?: Uint8Array): Uint8Array {
  const out = new Uint8Array(ENVELOPE_SIZE + (payload?.length ?? 0));
  writeEnvelope(out, op, connection, seq, ack);
  if (payload) out.set(payload, ENVELOPE_SIZE);
  return out;
}

/** Writes a big-endian u32 at `offset`. */
export function writeU32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value >>> 24;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}

/** The big-endian u32 at `offset`. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/** Whether a message ends a connection (RESET or CLOSE): worth sending once the client is back. */
export function isEnding(payload: Uint8Array): boolean {
  const kind = (payload[0] ?? 0) & ~FROM_ACCEPTOR;
  return payload.length >= ENVELOPE_SIZE && (kind === OP_RESET || kind === OP_CLOSE);
}

/** The key of an accepted connection: the dialer's inbox and its number. */
export function acceptedKey(peerInbox: string, id: number): string {
  return `${peerInbox}\u0000${id}`;
}
