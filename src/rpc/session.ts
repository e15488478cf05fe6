import { FrameKind, PROTOCOL_ERROR_CODE, type Frame } from "../wire/index.ts";
import type { Connection } from "../transport/index.ts";
import type { CallStream } from "./call-stream.ts";
import type { CallRequest, CallerInfo } from "./context.ts";
import { DeadlineQueue } from "./deadline-queue.ts";
import { deferredStream } from "./deferred-stream.ts";
import type { Dispatcher } from "./dispatcher.ts";
import type { ServingNode } from "./incoming-call.ts";
import { CallTable } from "./call-table.ts";
import { OutgoingCall } from "./outgoing-call.ts";
import { Keepalive } from "./keepalive.ts";
import { RpcError } from "./rpc-error.ts";
import { ServedCalls, type ServingLine } from "./served-calls.ts";
import { statusNumber } from "./status.ts";
import { failedOutcome } from "./failed-stream.ts";
import { isServiceList, isStringList, readGoAway } from "./frame-bodies.ts";
import { Handshake, type HandshakeCredentials, type Proven, type ReadHello } from "./handshake.ts";
/** What a session needs from the node that owns it. */
export interface SessionHost extends ServingNode {
  readonly nodeId: string;
  readonly cluster: string;
  /** Decides on and starts the calls that arrive. */
  readonly dispatcher: Dispatcher;
  subscribedTopics(): string[];
  deliverEvent(topic: string, payload: unknown, from: Session): void;
  sessionReady(session: Session): void;
  sessionClosed(session: Session): void;
  /** The other end announced a new list of services. */
  sessionServicesChanged(session: Session): void;
  /** The node's cluster key and bearer tokens, for the handshake of every connection. */
  readonly credentials: HandshakeCredentials;
}

/** Which end of the connection we are; it decides which call ids are ours. */
export type SessionRole = "dialer" | "acceptor";

// Above this backlog a stream sender waits for the socket to drain.
const BACKLOG_HIGH = 1024 * 1024;

/**
 * The protocol over one connection: handshake, then calls in both directions
 * (either end may serve and call, which is what peer-to-peer needs), events,
 * and an orderly goodbye. Calls the dialer starts have odd ids, the
 * acceptor's even ids, so a frame's id says whose call it belongs to.
 */
export class Session implements ServingLine {
  readonly host: SessionHost;
  /** The node serving this session's incoming calls (the host itself). */
  readonly server: ServingNode;
  readonly role: SessionRole;
  readonly #connection: Connection;
  readonly #outgoing = new CallTable<OutgoingCall>();
  /** The calls the other end makes here. */
  readonly #served: ServedCalls;
  #nextId: number;
  #remote: CallerInfo;
  #remoteServices: Array<[string, string]> = [];
  readonly remoteTopics = new Set<string>();
  /** The deadlines of our calls in flight on this session, under one timer. */
  readonly deadlines = new DeadlineQueue();
  #handshaken = false;
  readonly #handshake: Handshake;
  /** Services changed before this end could send more than HELLO, or did not fit it: announced once it can. */
  #announceAfterProof = false;
  /** How a handshake that fails is reported: UNAUTHENTICATED when one end could not prove the cluster key. */
  #handshakeFailure: "UNAVAILABLE" | "UNAUTHENTICATED" = "UNAVAILABLE";
  #handshakeTimer: NodeJS.Timeout | null;
  #remoteDraining = false;
  /** The highest id of our calls the other end read, as it told us when it closed: those above it were never read. */
  #remoteLastCallRead: number | undefined;
  #closed = false;
  #aborted = false;
  #closeReason = "closed";
  #lastActivity = Date.now();
  #readyResolve!: () => void;
  #readyReject!: (error: Error) => void;
  /** Resolves after the handshake; rejects when the connection fails first. */
  readonly ready: Promise<void>;
  #idleWaiters: Array<() => void> = [];
  #closedResolve!: () => void;
  /** Resolves once the connection is closed. */
  readonly whenClosed = new Promise<void>((resolve) => void (this.#closedResolve = resolve));

  constructor(connection: Connection, host: SessionHost, role: SessionRole) {
    this.#connection = connection;
    this.host = host;
    this.server = host;
    this.role = role;
    this.#nextId = role === "dialer" ? 1 : 2;
    this.#remote = { id: "", name: "?", address: connection.remoteAddress };
    this.#served = new ServedCalls(this, host.dispatcher);
    this.ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    this.ready.catch(() => {});
    this.#handshakeTimer = setTimeout(() => {
      this.abort(`no handshake within ${host.limits.handshakeTimeout} ms`);
    }, host.limits.handshakeTimeout);
    this.#handshakeTimer.unref();
    // Before the connection starts: it may hand over frames that arrived before, at once.
    const handshake = (this.#handshake = new Handshake(host.credentials, role, host.nodeId, connection));
    new Keepalive(this, connection, host.limits); // PINGs a silent connection with calls in flight; stops once closed.
    connection.start({ frame: (frame) => this.#onFrame(frame), closed: (error) => this.#onClosed(error) });
    if (handshake.refusedAtOnce !== null) {
      this.#refuseHandshake(handshake.refusedAtOnce);
      return;
    }
    connection.send(FrameKind.Hello, 0, handshake.hello(host.nodeName, host.cluster, host.dispatcher.registry.list(), host.limits.maxFrameSize));
    this.#announceAfterProof = handshake.servicesDeferred;
    if (handshake.open) this.#sendTopics();
  }

  /** What follows this end's handshake: its topics, and its services when {@link #announceAfterProof}. */
  #sendTopics(): void {
    const topics = this.host.subscribedTopics();
    if (topics.length > 0) this.#connection.send(FrameKind.Subscribe, 0, topics);
    if (this.#announceAfterProof) this.#connection.send(FrameKind.Announce, 0, this.host.dispatcher.registry.list());
  }

  /** The node at the other end. */
  get remoteInfo(): CallerInfo {
    return this.#remote;
  }

  /** The services the other end said it serves. */
  get remoteServices(): ReadonlyArray<readonly [string, string]> {
    return this.#remoteServices;
  }

  /** Whether new calls may go out on this session. */
  get usable(): boolean {
    return this.#handshaken && !this.#closed && !this.#remoteDraining;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Calls in flight, both ways. */
  get activeCalls(): number {
    return this.#served.size + this.#outgoing.size;
  }

  /** the ids of our calls in flight, to cancel before a dead connection is dropped. */
  get outgoingIds(): Iterable<number> {
    return this.#outgoing.keys();
  }
  get incomingCalls(): number {
    return this.#served.size;
  }

  /** Bytes received and sent on this connection so far (0 where the transport does not count them). */
  get bytesIn(): number {
    return this.#connection.bytesIn ?? 0;
  }

  get bytesOut(): number {
    return this.#connection.bytesOut ?? 0;
  }

  /** When a frame last arrived (ms since the epoch). */
  get lastActivity(): number {
    return this.#lastActivity;
  }

  get backlogHigh(): boolean {
    return this.#connection.backlog > BACKLOG_HIGH;
  }

  drained(): Promise<void> {
    return this.#connection.drained();
  }

  send(kind: FrameKind, id: number, body: unknown): void {
    if (!this.#closed) this.#connection.send(kind, id, body);
  }

  /** Starts a call to the other end. */
  call(request: CallRequest): Promise<unknown> | CallStream<unknown> {
    if (!this.#handshaken && !this.#closed) {
      // Calls made while the handshake runs wait for it.
      const later = this.ready.then(() => this.call(request));
      if (request.kind === "unary" || request.kind === "client-stream") return later as Promise<unknown>;
      return deferredStream(later as Promise<CallStream<unknown>>);
    }
    if (!this.usable) {
      const why = this.#remoteDraining ? "is draining" : this.#closed ? `is closed (${this.#closeReason})` : "has not finished its handshake";
      const error = new RpcError(
        "UNAVAILABLE",
        `${request.service}.${request.method}: the connection to ${this.#remote.address} ${why}; not processed — safe to retry`,
        { service: request.service, method: request.method, node: this.#remote.name, unprocessed: true },
      );
      return failedOutcome(request.kind, error);
    }
    const id = this.#nextId;
    this.#nextId = (this.#nextId + 2) >>> 0 || (this.role === "dialer" ? 1 : 2);
    const call = new OutgoingCall(this, id, request);
    this.#outgoing.set(id, call);
    const promise = call.start();
    return promise ?? call;
  }

  /** Publishes an event to the other end (only if it subscribed). */
  publish(topic: string, payload: unknown): void {
    if (this.#handshaken && this.remoteTopics.has(topic)) this.send(FrameKind.Event, 0, [topic, payload]);
  }

  /** Tells the other end which topics we now want, or no longer want. */
  updateSubscription(topic: string, subscribed: boolean): void {
    this.send(subscribed ? FrameKind.Subscribe : FrameKind.Unsubscribe, 0, [topic]);
  }

  /** Tells the other end what we serve now. */
  announce(services: Array<[string, string]>): void {
    if (!this.#handshake.open) {
      this.#announceAfterProof = true;
      return;
    }
    this.send(FrameKind.Announce, 0, services);
  }

  /** Says we are draining: the other end sends no new calls; ours in flight finish. */
  goAway(message: string): void {
    this.send(FrameKind.GoAway, 0, [statusNumber("UNAVAILABLE"), message, true]);
  }

  /** Resolves when no call is in flight in either direction. */
  idle(): Promise<void> {
    if (this.activeCalls === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Closes after flushing what is queued. Calls still in flight fail. A final
   * GOAWAY says which of the other end's calls were read, so that it knows the
   * ones sent after that were never processed.
   */
  close(reason = "closed by this node"): void {
    if (this.#closed) return;
    this.#closeReason = reason;
    if (this.#handshaken) this.#connection.send(FrameKind.GoAway, 0, [statusNumber("UNAVAILABLE"), reason, false, this.#served.lastRead]);
    this.#connection.close();
  }

  /** Tells the other end why, then closes. */
  abort(message: string, code = PROTOCOL_ERROR_CODE): void {
    if (this.#closed || this.#aborted) return;
    this.#aborted = true;
    this.#closeReason = message;
    this.#connection.send(FrameKind.GoAway, 0, [code, message, false]);
    this.#connection.close();
  }

  /** Ends every incoming call with `error`, sent to its caller (a drain that ran out of time). */
  stopIncoming(error: RpcError): void {
    this.#served.stopAll(error);
  }

  /** A call served on this session ended. */
  servedCallEnded(): void {
    this.#checkIdle();
  }

  outgoingDone(id: number): void {
    this.#outgoing.delete(id);
    this.#checkIdle();
  }

  // --- receiving -----------------------------------------------------------

  #onFrame(frame: Frame): void {
    try {
      this.#dispatchFrame(frame);
    } catch (error) {
      // A bug of ours or a handler's must cost this connection at most, never the node.
      this.abort(`internal error while handling frame kind ${frame.kind}: ${(error as Error)?.message ?? error}`);
    }
  }

  #dispatchFrame(frame: Frame): void {
    // Aborted: what else arrives is not read; the close reason stays this end's.
    if (this.#closed || this.#aborted) return;
    const now = Date.now();
    this.#served.frameRead(now, this.#lastActivity);
    this.#lastActivity = now;
    if (!this.#handshaken) {
      this.#onHandshakeFrame(frame);
      return;
    }
    const { kind, id, body } = frame;
    switch (kind) {
      case FrameKind.Call:
        if (this.#isMine(id)) this.abort(`malformed CALL frame (id ${id})`);
        else this.#served.call(id, body);
        return;
      case FrameKind.Result:
        this.#outgoing.get(id)?.result(body);
        return;
      case FrameKind.Error:
        this.#outgoing.get(id)?.error(body);
        return;
      case FrameKind.Item:
        if (this.#isMine(id)) this.#outgoing.get(id)?.item(body);
        else this.#served.get(id)?.item(body);
        return;
      case FrameKind.End:
        if (this.#isMine(id)) this.#outgoing.get(id)?.end(body);
        else this.#served.get(id)?.endOfInput();
        return;
      case FrameKind.Credit:
        if (typeof body !== "number" || !Number.isInteger(body) || body <= 0 || body > 1 << 20) {
          this.abort(`CREDIT frame with an invalid amount`);
          return;
        }
        if (this.#isMine(id)) this.#outgoing.get(id)?.credit(body);
        else this.#served.get(id)?.credit(body);
        return;
      case FrameKind.Cancel:
        this.#served.get(id)?.cancel(new RpcError("CANCELLED", "the caller cancelled the call"));
        return;
      case FrameKind.Event:
        if (!Array.isArray(body) || typeof body[0] !== "string") {
          this.abort("EVENT frame is not [topic, payload]");
          return;
        }
        this.host.deliverEvent(body[0], body[1], this);
        return;
      case FrameKind.Subscribe:
      case FrameKind.Unsubscribe:
        if (!isStringList(body)) {
          this.abort("SUBSCRIBE frame is not a list of topics");
          return;
        }
        for (const topic of body) {
          if (kind === FrameKind.Subscribe) this.remoteTopics.add(topic);
          else this.remoteTopics.delete(topic);
        }
        return;
      case FrameKind.Announce:
        if (!isServiceList(body)) {
          this.abort("ANNOUNCE frame is not a list of [name, version]");
          return;
        }
        this.#remoteServices = body;
        this.host.sessionServicesChanged(this);
        return;
      case FrameKind.Ping:
        this.send(FrameKind.Pong, 0, body);
        return;
      case FrameKind.Pong:
        return;
      case FrameKind.GoAway:
        this.#onGoAway(body);
        return;
      case FrameKind.Hello:
        this.abort("a second HELLO on an established connection");
        return;
      case FrameKind.Proof:
        this.abort("a PROOF outside the handshake");
        return;
    }
  }

  #onHandshakeFrame(frame: Frame): void {
    if (frame.kind === FrameKind.GoAway) {
      // Refused before the handshake (a limit, another protocol version): loud, or the node just looks unreachable.
      const why = Array.isArray(frame.body) ? String(frame.body[1]).slice(0, 300) : "no reason given";
      if (Array.isArray(frame.body) && frame.body[0] === statusNumber("UNAUTHENTICATED")) this.#handshakeFailure = "UNAUTHENTICATED";
      if (this.role === "dialer") this.host.logger.warn({ address: this.#remote.address }, `the node at ${this.#remote.address} refused the handshake: ${why}`);
      this.#onGoAway(frame.body);
      return;
    }
    const step = this.#handshake.read(frame, (kind, body) => this.#connection.send(kind, 0, body));
    switch (step.type) {
      case "proved":
        this.#sendTopics();
        return;
      case "done":
        this.#complete(step.hello, step.proven);
        for (const held of step.held) this.#onFrame(held);
        return;
      case "waiting":
        return;
      case "refused":
        if (step.unauthenticated) this.#refuseHandshake(step.why);
        else this.abort(step.why, step.code);
    }
  }

  /** A peer that could not prove the cluster key: refused loudly on the dialing side, where someone asked for it. */
  #refuseHandshake(why: string): void {
    if (this.role === "dialer") this.host.logger.warn({ address: this.#remote.address }, `the node at ${this.#remote.address} could not be trusted: ${why}`);
    this.#handshakeFailure = "UNAUTHENTICATED";
    this.abort(why, statusNumber("UNAUTHENTICATED"));
  }

  #complete(hello: ReadHello, proven: Proven): void {
    const { node } = hello;
    this.#handshaken = true;
    this.#connection.handshakeDone?.();
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = null;
    const certificate = this.#connection.peerCertificate;
    const address = this.#connection.remoteAddress;
    const remote: { -readonly [K in keyof CallerInfo]: CallerInfo[K] } = { id: node.id.slice(0, 128), name: node.name.slice(0, 128), address, ...proven };
    if (certificate) remote.certificate = certificate;
    if (node.cluster !== undefined) remote.cluster = node.cluster;
    this.#remote = remote;
    this.#remoteServices = hello.services;
    this.host.sessionReady(this);
    this.#readyResolve();
  }

  #onGoAway(body: unknown): void {
    const goAway = readGoAway(body);
    if (goAway.lastRead !== undefined) this.#remoteLastCallRead = goAway.lastRead;
    this.#closeReason = goAway.reason;
    if (goAway.drain) this.#remoteDraining = true;
    else this.#connection.close();
  }

  #onClosed(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    if (error && this.#closeReason === "closed") this.#closeReason = error.message;
    const reason = this.#closeReason;
    this.#readyReject(new RpcError(this.#handshakeFailure, `connection to ${this.#remote.address} closed during the handshake: ${reason}`, { unprocessed: true }));
    const lastRead = this.#remoteLastCallRead;
    for (const [id, call] of [...this.#outgoing]) call.lost(reason, lastRead !== undefined && id > lastRead);
    this.deadlines.clear();
    const cancelled = new RpcError("CANCELLED", `the connection from ${this.#remote.address} closed: ${reason}`);
    this.#served.cancelAll(cancelled);
    this.host.sessionClosed(this);
    this.#checkIdle();
    this.#closedResolve();
  }

  #isMine(id: number): boolean {
    return (id & 1) === (this.role === "dialer" ? 1 : 0);
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || this.activeCalls > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
