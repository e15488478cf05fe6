/**
 * The handshake of one connection, apart from the calls that follow it:
 * HELLO both ways — the dialer's with its bearer token when it has one —
 * then, when this node holds a cluster key, PROOF both ways
 * (docs/protocol.md). It reads the frames that arrive before the connection
 * is established and says what the session is to do with each.
 */
import { FrameKind, PROTOCOL_ERROR_CODE, PROTOCOL_NAME, PROTOCOL_VERSION, type Frame, type HelloBody } from "../wire/index.ts";
import type { ConnectionKey, ProverRole } from "./connection-proof.ts";
import { readHello } from "./frame-bodies.ts";
import { statusNumber } from "./status.ts";
import { tokenMayTravel, type TokenVerifier } from "./tokens.ts";

/** The body of the PING by which a dialer that presented a token learns that the other end took it. */
const TOKEN_VERDICT = "amoeba token verdict";
/** Frames the other end may send while this end waits for that PING's answer. */
const MAX_HELD_FRAMES = 1024;

/** What a node proves itself with, and checks others' proofs by, at each handshake. */
export interface HandshakeCredentials {
  /** The cluster key: with one, every peer must prove it. */
  readonly key: ConnectionKey | null;
  /** The bearer token this node presents when it dials. */
  readonly token: string | undefined;
  /** Names who the tokens presented to this node belong to. */
  readonly verifyToken: TokenVerifier | undefined;
}

/** What the other end proved at the handshake, beyond its HELLO: merged into its CallerInfo. */
export interface Proven {
  provedClusterKey?: true;
  /** The name the token it presented belongs to. */
  token?: string;
}

/** A HELLO as read. */
export type ReadHello = Exclude<ReturnType<typeof readHello>, string>;

/** What a frame read during the handshake leads to. */
export type HandshakeStep =
  /** This end sent its PROOF: it may now send what it held back; wait for the other's. */
  | { type: "proved" }
  /** Established: the other end's HELLO, what it proved, and the frames it sent while this end waited for the verdict on its token (to be read now). */
  | { type: "done"; hello: ReadHello; proven: Proven; held: Frame[] }
  /** Nothing to do yet: this end waits for the other's verdict on its token. */
  | { type: "waiting" }
  /** Refused: close with this status number and reason; `unauthenticated` when the key was the cause. */
  | { type: "refused"; why: string; code: number; unauthenticated: boolean };

export class Handshake {
  readonly #key: ConnectionKey | null;
  readonly #verifyToken: TokenVerifier | undefined;
  /** The token this end's HELLO carries: a dialer's, where it may travel. */
  readonly #token: string | undefined;
  readonly #role: ProverRole;
  readonly #nodeId: string;
  readonly #nonce: string | undefined;
  /** The connection carries no encryption and leaves this machine: a token presented on it was readable on the way. */
  readonly #exposed: boolean;
  /** Why this end refuses before it sends anything, or null. */
  readonly refusedAtOnce: string | null = null;
  /** The other end's HELLO, until its PROOF has been checked. */
  #awaitingProof: { hello: ReadHello; proven: Proven } | null = null;
  /** A dialer that presented a token: the other end's HELLO until the PONG that says it took the token, and what came meanwhile. */
  #awaitingVerdict: { hello: ReadHello; proven: Proven; held: Frame[] } | null = null;
  #proofSent = false;

  constructor(credentials: HandshakeCredentials, role: ProverRole, nodeId: string, connection: { secure: boolean; remoteAddress: string }) {
    this.#key = credentials.key;
    this.#verifyToken = credentials.verifyToken;
    this.#role = role;
    this.#nodeId = nodeId;
    this.#nonce = credentials.key?.nonce();
    this.#exposed = !tokenMayTravel(connection.secure, connection.remoteAddress);
    if (role === "dialer" && credentials.token !== undefined) {
      if (this.#exposed) this.refusedAtOnce = `this node's token would travel unencrypted to ${connection.remoteAddress}: dial it over TLS (a token is sent in the clear only to this machine)`;
      else this.#token = credentials.token;
    }
  }

  /**
   * This end's HELLO, for node `name` serving `services`: with a nonce when it
   * holds a key, and a dialer's token. A list of services too long for a
   * frame before the handshake is over is left out ({@link servicesDeferred}):
   * the session announces it once the other end can read it.
   */
  hello(name: string, cluster: string, services: HelloBody["services"], maxFrame: number): HelloBody {
    this.servicesDeferred = listBytes(services) > HELLO_SERVICES_BYTES;
    const listed = this.servicesDeferred ? [] : services;
    const hello: HelloBody = { proto: PROTOCOL_NAME, v: PROTOCOL_VERSION, node: { id: this.#nodeId, name, cluster }, services: listed, maxFrame };
    if (this.#nonce !== undefined) hello.nonce = this.#nonce;
    if (this.#token !== undefined) hello.token = this.#token;
    return hello;
  }

  /** Set by {@link hello} when the services were left out of it: they go in an ANNOUNCE once {@link open}. */
  servicesDeferred = false;

  /** Whether this end may send more than HELLO: at once without a key, after its PROOF with one (an end that has not proved the key learns nothing). */
  get open(): boolean {
    return this.#key === null || this.#proofSent;
  }

  /** One frame other than GOAWAY before the connection is established; `send` sends a frame of the handshake (PROOF, PING). */
  read(frame: Frame, send: (kind: FrameKind, body: unknown) => void): HandshakeStep {
    const verdict = this.#awaitingVerdict;
    if (verdict !== null) return this.#readVerdict(frame, verdict);
    const step = this.#read(frame, send);
    if (step.type !== "done" || this.#token === undefined) return step;
    // The other end decides on the token as it reads the HELLO; a PING sent after the HELLO (and PROOF)
    // is answered only once it has, and not at all when it refused: connect() fails UNAUTHENTICATED, not the first call.
    this.#awaitingVerdict = { hello: step.hello, proven: step.proven, held: [] };
    send(FrameKind.Ping, TOKEN_VERDICT);
    return { type: "waiting" };
  }

  #readVerdict(frame: Frame, verdict: { hello: ReadHello; proven: Proven; held: Frame[] }): HandshakeStep {
    if (frame.kind === FrameKind.Pong && frame.body === TOKEN_VERDICT) {
      this.#awaitingVerdict = null;
      return { type: "done", ...verdict };
    }
    // The other end is established already and may send its topics, services, even calls: read once this end is.
    if (verdict.held.length >= MAX_HELD_FRAMES) return { type: "refused", why: `over ${MAX_HELD_FRAMES} frames before the answer to the handshake's PING`, code: PROTOCOL_ERROR_CODE, unauthenticated: false };
    verdict.held.push(frame);
    return { type: "waiting" };
  }

  #read(frame: Frame, send: (kind: FrameKind, body: unknown) => void): HandshakeStep {
    const awaiting = this.#awaitingProof;
    if (awaiting !== null) {
      const theirRole = this.#role === "dialer" ? "acceptor" : "dialer";
      if (frame.kind !== FrameKind.Proof || !this.#key!.verify(frame.body, theirRole, this.#nonce!, awaiting.hello.nonce!, awaiting.hello.node.id)) {
        return unauthenticated(frame.kind === FrameKind.Proof ? "the other end's PROOF does not match this node's cluster key" : `expected PROOF after HELLO, got frame kind ${frame.kind}`);
      }
      this.#awaitingProof = null;
      return { type: "done", hello: awaiting.hello, proven: { ...awaiting.proven, provedClusterKey: true }, held: [] };
    }
    if (frame.kind !== FrameKind.Hello) return { type: "refused", why: `expected HELLO first, got frame kind ${frame.kind}`, code: PROTOCOL_ERROR_CODE, unauthenticated: false };
    const hello = readHello(frame.body);
    if (typeof hello === "string") {
      return { type: "refused", why: hello, code: hello.startsWith("protocol version") ? statusNumber("FAILED_PRECONDITION") : PROTOCOL_ERROR_CODE, unauthenticated: false };
    }
    const proven: Proven = {};
    if (hello.token !== undefined) {
      const owner = this.#tokenOwner(hello.token);
      if (typeof owner === "object") return owner;
      if (owner !== undefined) proven.token = owner;
    }
    const key = this.#key;
    if (key === null) {
      // A nonce means the other end holds a key, and would refuse this end for having none.
      if (hello.nonce !== undefined) return unauthenticated("the other end requires a cluster key, and this node holds none (clusterKey)");
      return { type: "done", hello, proven, held: [] };
    }
    if (hello.nonce === undefined) return unauthenticated("this node requires its cluster key, and the other end holds none");
    send(FrameKind.Proof, key.prove(this.#role, hello.nonce, this.#nonce!, this.#nodeId));
    this.#proofSent = true;
    this.#awaitingProof = { hello, proven };
    return { type: "proved" };
  }

  /**
   * Who a token presented to this end belongs to: a name, undefined when this
   * node takes no tokens (the caller is anonymous), or the refusal of a token
   * it does not know, or one that came over an unencrypted line from another host.
   */
  #tokenOwner(token: string): string | undefined | HandshakeStep {
    const verify = this.#verifyToken;
    if (this.#role === "dialer" || verify === undefined) return undefined;
    if (this.#exposed) return unauthenticated("a token came unencrypted from another host: anyone on the way could have read it (use TLS)");
    let owner: string | undefined;
    try {
      owner = verify(token);
    } catch {
      owner = undefined;
    }
    return typeof owner === "string" && owner !== "" ? owner.slice(0, 128) : unauthenticated("the token the other end presented is not one this node takes");
  }
}

function unauthenticated(why: string): HandshakeStep {
  return { type: "refused", why, code: statusNumber("UNAUTHENTICATED"), unauthenticated: true };
}

/**
 * The most bytes of service names and versions a HELLO carries: well inside
 * the frame limit before the handshake is over (256 KiB by default), whatever
 * else the HELLO holds. A node with more (thousands of services) sends them
 * in an ANNOUNCE after the handshake, when frames may be as large as usual.
 */
const HELLO_SERVICES_BYTES = 64 * 1024;

/** About the encoded size of a list of [name, version] pairs (UTF-16 length: an estimate that never undercounts ASCII). */
function listBytes(services: HelloBody["services"]): number {
  let bytes = 0;
  for (const [name, version] of services) bytes += name.length + version.length + 4;
  return bytes;
}
