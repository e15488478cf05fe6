import { fork, type ChildProcess } from "node:child_process";
import { cpuProfileArgs } from "./config.ts";
import type { ChildMessage, ParentMessage } from "./messages.ts";

// Every child ever started, until it exits: what `killAll` ends.
const live = new Set<ChildProcess>();

/**
 * A child process running one bench file under tsx, with its messages queued
 * so the orchestrator can wait for them one at a time, each with a timeout.
 */
export class Child {
  readonly label: string;
  readonly #process: ChildProcess;
  readonly #queue: ChildMessage[] = [];
  #waiter: ((message: ChildMessage | Error) => void) | null = null;
  #exited: Error | null = null;
  readonly #exit: Promise<void>;

  constructor(label: string, file: URL, argument: unknown) {
    this.label = label;
    this.#process = fork(file, [JSON.stringify(argument)], {
      execArgv: ["--import", "tsx", ...cpuProfileArgs(label)],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
    });
    live.add(this.#process);
    this.#process.on("message", (message: ChildMessage) => this.#deliver(message));
    this.#exit = new Promise((resolve) => {
      this.#process.on("exit", (code, signal) => {
        live.delete(this.#process);
        this.#exited = new Error(`${label} exited (${signal ?? `code ${code}`})`);
        this.#deliver(this.#exited);
        resolve();
      });
    });
    this.#process.on("error", (error) => this.#deliver(error));
  }

  /** The child's process id. */
  get pid(): number {
    return this.#process.pid ?? -1;
  }

  /** The next message; rejects on an `error` message, on exit, or after `timeoutMs`. */
  next(timeoutMs: number): Promise<ChildMessage> {
    const queued = this.#queue.shift();
    if (queued) return settle(this.label, queued);
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise<ChildMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        reject(new Error(`${this.label}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = (message) => {
        clearTimeout(timer);
        this.#waiter = null;
        if (message instanceof Error) reject(message);
        else settle(this.label, message).then(resolve, reject);
      };
    });
  }

  /** Sends a message to the child. */
  send(message: ParentMessage): void {
    if (!this.#process.connected) throw this.#exited ?? new Error(`${this.label} is not connected`);
    this.#process.send(message);
  }

  /** Waits for a message of one type, failing on any other. */
  async expect<T extends ChildMessage["type"]>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
    const message = await this.next(timeoutMs);
    if (message.type !== type) throw new Error(`${this.label}: expected "${type}", got "${message.type}"`);
    return message as Extract<ChildMessage, { type: T }>;
  }

  /** Asks the child to stop; kills it when it has not exited within `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.#exited) return;
    const message: ParentMessage = { type: "stop" };
    if (this.#process.connected) this.#process.send(message);
    const timer = setTimeout(() => this.#process.kill("SIGKILL"), graceMs);
    // A process that never spawned emits no exit: do not wait for one forever.
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([this.#exit, new Promise((resolve) => (giveUp = setTimeout(resolve, graceMs + 2000)))]);
    clearTimeout(timer);
    clearTimeout(giveUp);
  }

  #deliver(message: ChildMessage | Error): void {
    if (this.#waiter) this.#waiter(message);
    else if (!(message instanceof Error)) this.#queue.push(message);
  }
}

function settle(label: string, message: ChildMessage): Promise<ChildMessage> {
  if (message.type === "error") return Promise.reject(new Error(`${label} failed: ${message.message}`));
  return Promise.resolve(message);
}

/** Kills every child still running, at once and without grace: for exits and errors. */
export function killAll(): void {
  for (const child of live) child.kill("SIGKILL");
  live.clear();
}

/**
 * Makes sure no child outlives the orchestrator: on a normal exit, an
 * uncaught error, Ctrl-C or SIGTERM.
 */
export function killChildrenOnExit(cleanup: () => void = () => {}): void {
  const finish = (): void => {
    killAll();
    cleanup();
  };
  process.on("exit", finish);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping every child process\n`);
      finish();
      process.exit(130);
    });
  }
}
