/** Limits a peer enforces on what it receives. Each has a default and can be set per node. */
export interface WireLimits {
  /** Largest frame, header included, in bytes. Checked on the declared length, before buffering. */
  maxFrameSize: number;
  /**
   * Largest frame while the handshake is not over (HELLO, PROOF), header
   * included, on a socket: a peer that has not shown who it is cannot make
   * the node buffer and decode megabytes. HELLO lists the sender's services:
   * the default holds some thousands of them.
   */
  maxHandshakeFrameSize: number;
  /** Deepest nesting of arrays and objects in a body. */
  maxDepth: number;
  /** Largest metadata of a call, in bytes of keys and values. Checked on the CALL's bytes, before its metadata is decoded. */
  maxMetaSize: number;
  /** Most entries in the metadata of a call. Checked on the CALL's bytes, before its metadata is decoded. */
  maxMetaEntries: number;
}

/** Defaults: 4 MiB frames (256 KiB before the handshake is over), 64 levels of nesting, 8 KiB and 128 entries of metadata. */
export const DEFAULT_WIRE_LIMITS: Readonly<WireLimits> = Object.freeze({
  maxFrameSize: 4 * 1024 * 1024,
  maxHandshakeFrameSize: 256 * 1024,
  maxDepth: 64,
  maxMetaSize: 8 * 1024,
  maxMetaEntries: 128,
});
