import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";

/** The repository root: the CLI runs from here, as `npx amoeba` would. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin/amoeba.js", import.meta.url));

/** Generous: a loaded CI machine may take many seconds to start node and compile TypeScript. */
export const WAIT_MS = 60_000;

/**
 * How many CLI processes a suite runs at once: some overlap saves time, more
 * only makes each process slower on a busy machine.
 */
export const CONCURRENCY = 2;

/** How a finished CLI process ended. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Registers clean-up, e.g. `t.after.bind(t)` or node:test's `after`. */
export type Cleanup = (fn: () => void | Promise<void>) => void;

/** A running `amoeba` child process with its output so far. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly #exit: Promise<Finished>;

  /**
   * `env`: variables to set (or, when undefined, remove) on top of this
   * process's environment. `launcher`: a command that runs the CLI (it must
   * exec it, so that signals reach it), e.g. in a network namespace of the test's own.
   */
  constructor(args: readonly string[], cleanup: Cleanup, env?: Record<string, string | undefined>, launcher: readonly string[] = []) {
    const childEnv = env === undefined ? process.env : { ...process.env, ...env };
    for (const [name, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[name];
    const [command, ...prefix] = [...launcher, process.execPath];
    this.child = spawn(command!, [...prefix, BIN, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: childEnv });
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.#exit = new Promise((resolve, reject) => {
      this.child.once("error", reject);
      this.child.once("close", (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
    });
    this.#exit.catch(() => {});
    cleanup(() => this.kill());
  }

  /** Resolves with the first match of `pattern` in stdout; fails on timeout or exit. */
  waitFor(pattern: RegExp, ms = WAIT_MS): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = pattern.exec(this.stdout);
        if (match) finish(() => resolve(match));
        return match !== null;
      };
      const onExit = (): void => finish(() => reject(new Error(`exited before printing ${pattern}\n${this.#transcript()}`)));
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${pattern} within ${ms} ms\n${this.#transcript()}`))), ms);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.child.stdout!.off("data", check);
        this.child.off("close", onExit);
        settle();
      };
      if (check()) return;
      this.child.stdout!.on("data", check);
      this.child.once("close", onExit);
    });
  }

  /** Resolves when the process ends; kills it and fails after `ms`. */
  exited(ms = WAIT_MS): Promise<Finished> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(new Error(`still running after ${ms} ms\n${this.#transcript()}`));
      }, ms);
    });
    return Promise.race([this.#exit, timeout]).finally(() => clearTimeout(timer));
  }

  /** Sends a signal (SIGKILL by default) if still running. */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  #transcript(): string {
    return `--- stdout\n${this.stdout}--- stderr\n${this.stderr}`;
  }
}

/** Runs `amoeba <args>` to completion (killed after `ms`), through `launcher` when given (see {@link CliProcess}). */
export function runCli(args: readonly string[], cleanup: Cleanup, ms = WAIT_MS, env?: Record<string, string | undefined>, launcher?: readonly string[]): Promise<Finished> {
  return new CliProcess(args, cleanup, env, launcher).exited(ms);
}

/** Starts `amoeba serve <args>` and waits for its ready line; returns the process and the address it printed. */
export async function startServe(args: readonly string[], cleanup: Cleanup): Promise<{ server: CliProcess; address: string }> {
  const server = new CliProcess(["serve", ...args], cleanup);
  const match = await server.waitFor(/serving .+ on (\S+)\n/);
  return { server, address: match[1]! };
}

/**
 * Gives this test file its own local-rendezvous folder (inherited by every
 * CLI process it starts), so that clusters of other test files stay invisible.
 * Call at the top level of a test file.
 */
export function isolateRendezvous(): void {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "amoeba-cli-rendezvous-"));
    process.env.AMOEBA_RENDEZVOUS_DIR = dir;
  });
  after(() => rm(dir, { recursive: true, force: true }));
}

let clusters = 0;
/** A cluster name no other test (nor a concurrent run) uses. */
export function uniqueCluster(tag: string): string {
  return `cli-${tag}-${process.pid}-${++clusters}`;
}

/**
 * Starts `amoeba serve <args>` joined to a look-up and waits for its ready
 * lines; returns the process, its RPC address and its gossip address (when
 * it gossips).
 */
export async function startMember(
  args: readonly string[],
  cleanup: Cleanup,
  env?: Record<string, string | undefined>,
): Promise<{ server: CliProcess; address: string; gossip: string | undefined }> {
  const server = new CliProcess(["serve", ...args], cleanup, env);
  const match = await server.waitFor(/serving .+ on (\S+)\n(?:.*\n)*?amoeba: node \S+ in cluster .*(?:gossip on (udp:\/\/\S+) \(|registered with .*\n)/);
  return { server, address: match[1]!, gossip: match[2] };
}

/** Runs `fn` until it returns a value, at most `ms`; the last failure is thrown on timeout. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`no ${what} within ${ms} ms${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
