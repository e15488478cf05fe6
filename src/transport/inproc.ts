import type { FrameKind } from "../wire/index.ts";
import { AddressError } from "./address.ts";
import type { Connection, ConnectionHandler, Listener } from "./connection.ts";

/**
 * In-process connections: frames are handed over as objects, never encoded.
 * Bodies pass by reference, so neither side may mutate a value after sending
 * it. Delivery is batched per microtask, which keeps ordering and keeps a
 * sender's stack from re-entering the receiver.
 */
const listeners = new Map<string, (connection: Connection) => void>();

/** Registers `inproc://name` in this process. */
export function listenInproc(name: string, onConnection: (connection: Connection) => void): Listener {
  if (listeners.has(name)) throw new AddressError(`inproc://${name} is already taken in this process`);
  listeners.set(name, onConnection);
  return {
    address: `inproc://${name}`,
    close: async () => {
      if (listeners.get(name) === onConnection) listeners.delete(name);
    },
  };
}

/** Connects to `inproc://name` in this process. */
export function dialInproc(name: string): Connection {
  const accept = listeners.get(name);
  if (!accept) throw new Error(`nothing listens on inproc://${name} in this process`);
  const [near, far] = createInprocPair(`inproc://${name}`, "inproc://caller");
  accept(far);
  return near;
}

/** Two connected in-process ends. */
export function createInprocPair(nearRemote: string, farRemote: string): [Connection, Connection] {
  const near = new InprocConnection(nearRemote);
  const far = new InprocConnection(farRemote);
  near.peer = far;
  far.peer = near;
  return [near, far];
}

class InprocConnection implements Connection {
  readonly secure = false;
  /** Two ends in one process: never half-open. */
  readonly watchesLiveness = true;
  readonly backlog = 0;
  peer!: InprocConnection;
  #handler: ConnectionHandler | null = null;
  #inbox: Array<{ kind: FrameKind; id: number; body: unknown }> = [];
  #scheduled = false;
  #closed = false;

  constructor(readonly remoteAddress: string) {}

  start(handler: ConnectionHandler): void {
    this.#handler = handler;
    if (this.#inbox.length > 0) this.#schedule();
    if (this.#closed) queueMicrotask(() => handler.closed());
  }

  send(kind: FrameKind, id: number, body: unknown): void {
    if (this.#closed) return;
    this.peer.#receive({ kind, id, body });
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    // Frames already sent are delivered before the peer hears of the close.
    queueMicrotask(() => {
      this.destroy();
    });
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    this.#markClosed(error);
    this.peer.#markClosed(error && new Error(`peer closed: ${error.message}`));
  }

  #markClosed(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    const handler = this.#handler;
    if (handler) queueMicrotask(() => handler.closed(error));
  }

  #receive(frame: { kind: FrameKind; id: number; body: unknown }): void {
    if (this.#closed) return;
    this.#inbox.push(frame);
    if (this.#handler) this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#deliver);
  }

  readonly #deliver = (): void => {
    this.#scheduled = false;
    const frames = this.#inbox;
    this.#inbox = [];
    for (const frame of frames) {
      if (this.#closed) return;
      this.#handler!.frame(frame);
    }
  };
}
