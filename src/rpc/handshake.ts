/**
 * The handshake of one connection, apart from the calls that follow it:
 * HELLO both ways, then — when this node holds a cluster key — PROOF both
 * ways (docs/protocol.md). It reads the frames that arrive before the
 * connection is established and says what the session is to do with each.
 */
import { FrameKind, PROTOCOL_ERROR_CODE, PROTOCOL_NAME, PROTOCOL_VERSION, type Frame, type HelloBody } from "../wire/index.ts";
import type { ConnectionKey, ProverRole } from "./connection-proof.ts";
import { readHello } from "./frame-bodies.ts";
import { statusNumber } from "./status.ts";

/** A HELLO as read. */
export type ReadHello = Exclude<ReturnType<typeof readHello>, string>;

/** What a frame read during the handshake leads to. */
export type HandshakeStep =
  /** This end sent its PROOF: it may now send what it held back; wait for the other's. */
  | { type: "proved" }
  /** Established: the other end's HELLO, and whether it proved the cluster key. */
  | { type: "done"; hello: ReadHello; provedClusterKey: boolean }
  /** Refused: close with this status number and reason; `unauthenticated` when the key was the cause. */
  | { type: "refused"; why: string; code: number; unauthenticated: boolean };

export class Handshake {
  readonly #key: ConnectionKey | null;
  readonly #role: ProverRole;
  readonly #nodeId: string;
  readonly #nonce: string | undefined;
  /** The other end's HELLO, until its PROOF has been checked. */
  #awaitingProof: ReadHello | null = null;
  #proofSent = false;

  constructor(key: ConnectionKey | null, role: ProverRole, nodeId: string) {
    this.#key = key;
    this.#role = role;
    this.#nodeId = nodeId;
    this.#nonce = key?.nonce();
  }

  /** This end's HELLO, for node `name` serving `services`: with a nonce when it holds a key. */
  hello(name: string, services: HelloBody["services"], maxFrame: number): HelloBody {
    const hello: HelloBody = { proto: PROTOCOL_NAME, v: PROTOCOL_VERSION, node: { id: this.#nodeId, name }, services, maxFrame };
    if (this.#nonce !== undefined) hello.nonce = this.#nonce;
    return hello;
  }

  /** Whether this end may send more than HELLO: at once without a key, after its PROOF with one (an end that has not proved the key learns nothing). */
  get open(): boolean {
    return this.#key === null || this.#proofSent;
  }

  /** One frame other than GOAWAY before the connection is established; `sendProof` sends this end's PROOF. */
  read(frame: Frame, sendProof: (proof: string) => void): HandshakeStep {
    const awaiting = this.#awaitingProof;
    if (awaiting !== null) {
      const theirRole = this.#role === "dialer" ? "acceptor" : "dialer";
      if (frame.kind !== FrameKind.Proof || !this.#key!.verify(frame.body, theirRole, this.#nonce!, awaiting.nonce!, awaiting.node.id)) {
        return unauthenticated(frame.kind === FrameKind.Proof ? "the other end's PROOF does not match this node's cluster key" : `expected PROOF after HELLO, got frame kind ${frame.kind}`);
      }
      this.#awaitingProof = null;
      return { type: "done", hello: awaiting, provedClusterKey: true };
    }
    if (frame.kind !== FrameKind.Hello) return { type: "refused", why: `expected HELLO first, got frame kind ${frame.kind}`, code: PROTOCOL_ERROR_CODE, unauthenticated: false };
    const hello = readHello(frame.body);
    if (typeof hello === "string") {
      return { type: "refused", why: hello, code: hello.startsWith("protocol version") ? statusNumber("FAILED_PRECONDITION") : PROTOCOL_ERROR_CODE, unauthenticated: false };
    }
    const key = this.#key;
    if (key === null) {
      // A nonce means the other end holds a key, and would refuse this end for having none.
      if (hello.nonce !== undefined) return unauthenticated("the other end requires a cluster key, and this node holds none (clusterKey)");
      return { type: "done", hello, provedClusterKey: false };
    }
    if (hello.nonce === undefined) return unauthenticated("this node requires its cluster key, and the other end holds none");
    sendProof(key.prove(this.#role, hello.nonce, this.#nonce!, this.#nodeId));
    this.#proofSent = true;
    this.#awaitingProof = hello;
    return { type: "proved" };
  }
}

function unauthenticated(why: string): HandshakeStep {
  return { type: "refused", why, code: statusNumber("UNAUTHENTICATED"), unauthenticated: true };
}
