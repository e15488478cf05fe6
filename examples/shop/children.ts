/**
 * The parent's side of the service processes: spawn each one, wait until it
 * says where it listens, and stop them all — gracefully first, by force after
 * a bound. Every process is tracked from the moment it is spawned, so that
 * even one that never became ready is stopped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { performance } from "node:perf_hooks";
import type { ReadyMessage } from "./service-process.ts";

export interface Child {
  name: string;
  pid: number;
  /** Where it listens, as it reported. */
  address: string;
  /** How long it took from spawn to ready, in ms. */
  startMs: number;
  /** The URL it serves HTTP on, if it does. */
  url?: string;
}

export class Children {
  readonly #running = new Map<ChildProcess, string>();
  #stopping = false;
  #onUnexpectedExit: (error: Error) => void = () => {};

  /** `handler` runs if a child exits before `stopAll()` was called. */
  onUnexpectedExit(handler: (error: Error) => void): void {
    this.#onUnexpectedExit = handler;
  }

  /** Spawns `node --import tsx <file> <args>` and resolves once it reports its address. */
  async start(name: string, file: string, args: string[], readyTimeout = 15_000): Promise<Child> {
    const started = performance.now();
    // stdout and stderr are shared with ours; "ipc" is the channel for the ready message
    // and, by closing, tells the child that we are gone.
    const child = spawn(process.execPath, ["--import", "tsx", file, ...args], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.#running.set(child, name);
    child.once("exit", (code, signal) => {
      this.#running.delete(child);
      if (!this.#stopping) this.#onUnexpectedExit(new Error(`${name} (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`})`));
    });

    const ready = new Promise<ReadyMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} was not ready within ${readyTimeout} ms`)), readyTimeout);
      child.once("message", (message: ReadyMessage) => {
        clearTimeout(timer);
        resolve(message);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before it was ready`));
      });
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const { ready: address, url } = await ready;
    return { name, pid: child.pid!, address, startMs: performance.now() - started, ...(url === undefined ? {} : { url }) };
  }

  /**
   * Sends SIGTERM to every child still running (each drains and exits), waits
   * at most `timeout` ms, then SIGKILLs the stragglers. Returns one line per child.
   */
  async stopAll(timeout = 3_000): Promise<string[]> {
    this.#stopping = true;
    const running = [...this.#running];
    const results = running.map(async ([child, name]) => {
      const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), timeout)));
      const first = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (first !== "late") return `${name} (pid ${child.pid}) stopped, ${first[1] ?? `exit ${first[0]}`}`;
      child.kill("SIGKILL");
      await exited;
      return `${name} (pid ${child.pid}) did not stop within ${timeout} ms: killed`;
    });
    return Promise.all(results);
  }
}
