import type { CallStream } from "../rpc/call-stream.ts";
import type { CallOutcome, CallRequest, Client, ClientNext, ClientOptions } from "../rpc/context.ts";
import type { Contract } from "../rpc/contract.ts";
import { deferredStream } from "../rpc/deferred-stream.ts";
import { withParentSignal } from "../rpc/parent-signal.ts";
import { isBuiltInService } from "../rpc/reflection.ts";
import { RpcError } from "../rpc/rpc-error.ts";
import { Session, type SessionHost } from "../rpc/session.ts";
import type { EventHandler, PayloadOf, TopicRef } from "../rpc/topics.ts";
import { ConnectError } from "../transport/errors.ts";
import type { Connection } from "../transport/index.ts";
import type { ConnectOptions } from "./options.ts";
import type { Peer } from "./peer.ts";

/** What a link needs of its node. */
export interface LinkHost extends SessionHost {
  /** Dials `address` (through the engine when its scheme is the engine's). */
  dial(address: string, options: ConnectOptions): Promise<Connection>;
  /** Keeps a session the link dialed. */
  trackSession(session: Session): void;
  /** A typed client whose calls pass the node's client chain, then `place`. */
  clientOver<C extends Contract>(contract: C, place: ClientNext, options: ClientOptions): Client<C>;
  publish<T extends TopicRef>(topic: T, payload: PayloadOf<T>): void;
  subscribe<T extends TopicRef>(topic: T, handler: EventHandler<PayloadOf<T>>): () => void;
}

/** One dialed address: its current session, dialed again when lost. */
export class PeerLink {
  readonly #node: LinkHost;
  readonly #address: string;
  readonly #options: ConnectOptions;
  #current: Session | null = null;
  #dialing: Promise<Session> | null = null;
  readonly peer: Peer;

  constructor(node: LinkHost, address: string, options: ConnectOptions) {
    this.#node = node;
    this.#address = address;
    this.#options = options;
    const link = this;
    this.peer = {
      address,
      get remote() {
        return link.#current?.remoteInfo ?? { id: "", name: "?", address };
      },
      get services() {
        return (link.#current?.remoteServices ?? []).filter(([name]) => !isBuiltInService(name));
      },
      client: (contract, options = {}) => node.clientOver(contract, (request) => link.invoke(request), options),
      publish: (topic, payload) => node.publish(topic, payload),
      subscribe: (topic, handler) => node.subscribe(topic, handler),
      close: async () => link.#current?.close("closed by the caller"),
    };
  }

  /** Whether a call now goes out at once, on a live session (no dial, no handshake first). */
  get connected(): boolean {
    return this.#current?.usable === true;
  }

  /** The live session, dialing when there is none. */
  session(): Promise<Session> {
    const current = this.#current;
    if (current?.usable) return Promise.resolve(current);
    this.#dialing ??= this.#dial().finally(() => {
      this.#dialing = null;
    });
    return this.#dialing;
  }

  /** Places a call on the live session, dialing first when there is none. */
  invoke(request: CallRequest): CallOutcome {
    const current = this.#current;
    if (current?.usable) return current.call(request);
    const pending = withinCall(
      this.session().catch((error: unknown) => {
        throw new RpcError("UNAVAILABLE", `${request.service}.${request.method}: ${(error as Error).message}`, {
          service: request.service,
          method: request.method,
          unprocessed: true,
          cause: error,
        });
      }),
      request,
      this.#address,
    );
    if (request.kind === "unary" || request.kind === "client-stream") {
      return pending.then((session) => session.call(request) as Promise<unknown>);
    }
    return deferredStream(pending.then((session) => session.call(request) as CallStream<unknown>));
  }

  async #dial(): Promise<Session> {
    let connection;
    try {
      connection = await this.#node.dial(this.#address, this.#options);
    } catch (error) {
      throw ConnectError.from(this.#address, error);
    }
    const session = new Session(connection, this.#node, "dialer");
    this.#node.trackSession(session);
    await session.ready;
    this.#current = session;
    return session;
  }
}

/**
 * A dial bounded by the call it is for: its deadline and its signal end the
 * wait (the dial itself goes on for later calls). Either way the call never
 * left this node, so the error says it was not processed.
 */
function withinCall(dialing: Promise<Session>, request: CallRequest, address: string): Promise<Session> {
  const { deadline, signal } = withParentSignal(request);
  const timed = deadline !== undefined && Number.isFinite(deadline);
  if (!timed && !signal) return dialing;
  return new Promise<Session>((resolve, reject) => {
    const where = { service: request.service, method: request.method, unprocessed: true };
    const stop = (error: RpcError): void => {
      cleanup();
      reject(error);
    };
    const onAbort = (): void => stop(new RpcError("CANCELLED", `${request.service}.${request.method}: cancelled while connecting to ${address}; not processed`, where));
    const timer = timed
      ? setTimeout(
          () => stop(new RpcError("DEADLINE_EXCEEDED", `${request.service}.${request.method}: the deadline passed while connecting to ${address}; not processed`, where)),
          Math.max(0, deadline - Date.now()),
        )
      : undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    dialing.then(
      (session) => {
        cleanup();
        resolve(session);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}
