import { execFile, fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FromMember, MemberArgument, ToMember } from "./protocol.ts";

// Every child process of this bench still running: what `killEverything` ends.
const live = new Set<ChildProcess>();

/** Kills every child of the look-up bench at once (SIGKILL). Safe to call twice. */
export function killEverything(): void {
  for (const child of live) child.kill("SIGKILL");
  live.clear();
}

/** Forks `script` and keeps it in the set `killEverything` ends. */
export function forkTracked(script: string, args: string[], execArgv: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = fork(script, args, { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "json", env });
  live.add(child);
  child.on("exit", () => live.delete(child));
  return child;
}

/** How member processes are run: a script and the node flags it needs. */
export interface MemberRuntime {
  script: string;
  execArgv: string[];
  /** What was done to get there, for the report. */
  how: string;
}

const repo = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Compiles the member script and the part of src/ it imports to plain
 * JavaScript in `dir` (tsc, one file per module: nothing is bundled), so that
 * each of the up to 64 member processes starts with plain `node`: tsx costs
 * about a second of CPU and 35 MB per process, which 2 cores pay 100 times over.
 * Falls back to tsx when compiling fails.
 */
export async function prepareMemberRuntime(dir: string, useTsx: boolean): Promise<MemberRuntime> {
  const source = join(repo, "bench/lookup/member.ts");
  const tsx: MemberRuntime = { script: source, execArgv: ["--import", "tsx"], how: "tsx (not compiled)" };
  if (useTsx) return tsx;
  await mkdir(dir, { recursive: true });
  const config = {
    extends: join(repo, "tsconfig.json"),
    compilerOptions: { noEmit: false, rootDir: repo, outDir: join(dir, "out"), declaration: false, sourceMap: false, incremental: false },
    files: [source],
    include: [],
  };
  await writeFile(join(dir, "tsconfig.json"), JSON.stringify(config));
  // The emitted modules are ESM and import packages such as msgpackr: give them
  // a package scope and the repository's node_modules.
  await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  if (!existsSync(join(dir, "node_modules"))) await symlink(join(repo, "node_modules"), join(dir, "node_modules"), "dir");
  const started = performance.now();
  const tsc = join(repo, "node_modules/typescript/bin/tsc");
  const failure = await new Promise<string | null>((resolve) => {
    execFile(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], { timeout: 180_000, maxBuffer: 8 << 20 }, (error, stdout) => {
      resolve(error ? `${error.message.split("\n")[0]}\n${stdout.slice(0, 2000)}` : null);
    });
  });
  const script = join(dir, "out/bench/lookup/member.js");
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  // tsc emits even when some file elsewhere has a type error; only a missing output is fatal.
  if (!existsSync(script)) {
    process.stderr.write(`lookup bench: compiling the member script failed, using tsx\n${failure ?? ""}\n`);
    return tsx;
  }
  if (failure) process.stderr.write(`lookup bench: tsc reported errors (output used anyway):\n${failure}\n`);
  return { script, execArgv: ["--max-semi-space-size=2"], how: `plain node, compiled by tsc in ${seconds} s` };
}

/** The `ready` message of a member. */
export type Ready = Extract<FromMember, { type: "ready" }>;

/** One member process, seen from the orchestrator. */
export class MemberProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly #listeners = new Set<(message: FromMember) => void>();
  #exit: string | null = null;
  ready!: Ready;

  constructor(runtime: MemberRuntime, argument: MemberArgument, env: NodeJS.ProcessEnv) {
    this.name = argument.name;
    this.child = forkTracked(runtime.script, [JSON.stringify(argument)], runtime.execArgv, env);
    this.child.on("message", (message: FromMember) => {
      for (const listener of [...this.#listeners]) listener(message);
    });
    this.child.on("exit", (code, signal) => {
      this.#exit = `${this.name} exited (${signal ?? `code ${code}`})`;
      for (const listener of [...this.#listeners]) listener({ type: "error", message: this.#exit });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Waits for the first message `pick` accepts; fails on an error message, on exit or after `timeoutMs`. */
  waitFor<T>(pick: (message: FromMember) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#exit) return reject(new Error(this.#exit));
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        reject(new Error(`${this.name}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (message: FromMember): void => {
        if (message.type === "error") {
          clearTimeout(timer);
          this.#listeners.delete(listener);
          reject(new Error(`${this.name}: ${message.message}`));
          return;
        }
        const value = pick(message);
        if (value === undefined) return;
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(value);
      };
      this.#listeners.add(listener);
    });
  }

  /** Waits for `ready` and keeps it. */
  async started(timeoutMs: number): Promise<Ready> {
    this.ready = await this.waitFor((message) => (message.type === "ready" ? message : undefined), timeoutMs);
    return this.ready;
  }

  send(message: ToMember): void {
    if (this.child.connected) this.child.send(message);
  }

  /** Sends `message` and waits for the answer `pick` accepts. */
  request<T>(message: ToMember, pick: (message: FromMember) => T | undefined, timeoutMs: number): Promise<T> {
    const answer = this.waitFor(pick, timeoutMs);
    this.send(message);
    return answer;
  }

  /** SIGKILL, then waits (bounded) for the exit. */
  async kill(): Promise<void> {
    if (this.#exit) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGKILL");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
  }
}
