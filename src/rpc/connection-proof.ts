/**
 * The cluster key at a connection's handshake: each end of a connection
 * between nodes that hold the key proves it without sending it. Both ends
 * send a fresh random nonce in HELLO; each then sends a PROOF, an HMAC under
 * a key derived from the cluster key over its role, the other end's nonce,
 * its own nonce and its node id. A recorded proof is worthless on another
 * connection (the nonces differ), and one end's proof cannot be reflected
 * back as the other's (the role is in it).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Which end proves: the one that dialed, or the one that accepted. */
export type ProverRole = "dialer" | "acceptor";

const NONCE_BYTES = 16;
const NONCE = /^[0-9a-f]{32}$/;
const PROOF = /^[0-9a-f]{64}$/;

/** The key a node proves connections with, derived from its cluster key (never the gossip key itself). */
export class ConnectionKey {
  readonly #key: Buffer;

  constructor(clusterKey: string) {
    this.#key = createHash("sha256").update("amoeba connection key v1\u0000").update(clusterKey).digest();
  }

  /** A fresh nonce for one connection's HELLO. */
  nonce(): string {
    return randomBytes(NONCE_BYTES).toString("hex");
  }

  /** The PROOF this end sends. */
  prove(role: ProverRole, theirNonce: string, ownNonce: string, ownId: string): string {
    return this.#mac(role, theirNonce, ownNonce, ownId).toString("hex");
  }

  /** Whether `proof` from the other end (in `role`, with node id `theirId`) shows it holds the key. */
  verify(proof: unknown, role: ProverRole, ownNonce: string, theirNonce: string, theirId: string): boolean {
    if (typeof proof !== "string" || !PROOF.test(proof)) return false;
    return timingSafeEqual(Buffer.from(proof, "hex"), this.#mac(role, ownNonce, theirNonce, theirId));
  }

  #mac(role: ProverRole, verifierNonce: string, proverNonce: string, proverId: string): Buffer {
    return createHmac("sha256", this.#key).update(`amoeba proof v1\u0000${role}\u0000${verifierNonce}\u0000${proverNonce}\u0000${proverId}`).digest();
  }
}

/** Whether a HELLO's nonce is well formed. */
export function isNonce(value: unknown): value is string {
  return typeof value === "string" && NONCE.test(value);
}
