/**
 * Child processes that tests drive over IPC: the parent sends `{ seq, request }`
 * and the child answers `{ seq, ok, result | error }`. A child started with
 * `standby` waits for `{ go: true }` before it starts, so a replacement can be
 * spawned ahead and started in milliseconds.
 */
import type { ChildProcess } from "node:child_process";

/** The first message of a child that runs an Amoeba node: who it is and where. */
export interface NodeReadyMessage {
  type: "ready";
  id: string;
  name: string;
  pid: number;
  gossip: string | undefined;
  addresses: string[];
}

/** The parent's side of one child: requests with timeouts, failed at once when the child exits. */
export class IpcChild<Ready extends { name: string }, Request extends { cmd: string }> {
  readonly child: ChildProcess;
  readonly ready: Ready;
  /** Resolves when the process has exited, with its signal or exit code. */
  readonly exited: Promise<string>;
  readonly #what: string;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #seq = 0;
  #gone = false;

  /** `what` names the child in errors ("member", "server"). */
  constructor(what: string, child: ChildProcess, ready: Ready, exited: Promise<string>) {
    this.#what = what;
    this.child = child;
    this.ready = ready;
    this.exited = exited;
    void exited.then((how) => {
      this.#gone = true;
      for (const { reject } of this.#pending.values()) reject(new Error(`${what} ${ready.name} exited (${how})`));
      this.#pending.clear();
    });
    child.on("message", (message: { seq?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (typeof message?.seq !== "number") return;
      const waiter = this.#pending.get(message.seq);
      if (!waiter) return;
      this.#pending.delete(message.seq);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`${what} ${ready.name}: ${message.error}`));
    });
  }

  get name(): string {
    return this.ready.name;
  }

  get alive(): boolean {
    return !this.#gone;
  }

  /** Sends a request over IPC; rejects after `timeoutMs`, or when the child exits first. */
  request<T>(request: Request, timeoutMs = 10_000): Promise<T> {
    if (this.#gone) return Promise.reject(new Error(`${this.#what} ${this.name} has exited`));
    const seq = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new Error(`${this.#what} ${this.name} did not answer ${request.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(seq, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ seq, request });
    });
  }
}

/** A child that runs an Amoeba node: its id, pid, first address and gossip address. */
export class NodeChild<Request extends { cmd: string }> extends IpcChild<NodeReadyMessage, Request> {
  get id(): string {
    return this.ready.id;
  }

  get pid(): number {
    return this.ready.pid;
  }

  /** Its first RPC address. */
  get address(): string {
    return this.ready.addresses[0]!;
  }

  get gossip(): string {
    if (!this.ready.gossip) throw new Error(`${this.name} does not gossip`);
    return this.ready.gossip;
  }
}

/**
 * The child's side: runs `main` (after the parent's go when `standby`); a
 * failure to start is written to stderr with `label` and exits 1.
 */
export function runIpcChild(label: string, standby: boolean | undefined, main: () => Promise<void>): void {
  const begin = async (): Promise<void> => {
    if (standby) {
      await new Promise<void>((resolve) => {
        const go = (message: { go?: boolean }): void => {
          if (message?.go !== true) return;
          process.off("message", go);
          resolve();
        };
        process.on("message", go);
        process.send?.({ type: "standby" });
      });
    }
    await main();
  };
  begin().catch((error: unknown) => {
    process.stderr.write(`${label} failed to start: ${String((error as Error)?.stack ?? error)}\n`);
    process.exit(1);
  });
}
