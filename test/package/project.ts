/**
 * A fresh npm project in a temporary folder, for trying Amoeba as a user who
 * installed its tarball would: commands run there with that project's
 * node_modules, never the checkout's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout's root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** How a finished command ended. */
export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

// What `npm test` put in the environment describes the checkout (its
// package, its lifecycle, its prefix); a command in the project must not see
// it. Where npm keeps its cache and which registry it asks stay as they are.
const KEPT = new Set(["npm_config_cache", "npm_config_registry", "npm_config_userconfig"]);
const ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_") || KEPT.has(name.toLowerCase())));

/** A long-running command, with its output so far. */
export class Running {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<Ran>;

  constructor(command: string, args: readonly string[], cwd: string) {
    this.child = spawn(command, args, { cwd, env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve, reject) => {
      this.child.once("error", reject);
      this.child.once("close", (code) => resolve({ code, stdout: this.stdout, stderr: this.stderr }));
    });
    this.exited.catch(() => {});
  }

  /** The first match of `pattern` in stdout (or stderr), waiting at most `ms`. */
  async waitFor(pattern: RegExp, ms: number, stream: "stdout" | "stderr" = "stdout"): Promise<RegExpMatchArray> {
    const until = Date.now() + ms;
    for (;;) {
      const match = pattern.exec(this[stream]);
      if (match) return match;
      if (this.child.exitCode !== null || Date.now() > until) {
        throw new Error(`no ${pattern} in ${stream} ${this.child.exitCode !== null ? `(exited ${this.child.exitCode})` : `within ${ms} ms`}\n--- stdout\n${this.stdout}--- stderr\n${this.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops the command and what it started (npx runs amoeba as a child): the whole process group. */
  stop(): Promise<Ran> {
    if (this.child.exitCode === null && this.child.pid !== undefined) {
      try {
        process.kill(-this.child.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
    return this.exited;
  }
}

/** Runs a command to its end, killed (with what it started) after `ms`. */
export async function run(command: string, args: readonly string[], cwd: string, ms: number): Promise<Ran> {
  const running = new Running(command, args, cwd);
  const timer = setTimeout(() => {
    if (running.child.pid !== undefined) process.kill(-running.child.pid, "SIGKILL");
  }, ms);
  try {
    return await running.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** A temporary folder, removed by `dispose`. */
export async function tempDir(prefix: string): Promise<{ path: string; dispose(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, dispose: () => rm(path, { recursive: true, force: true }) };
}

/** Writes files (path relative to `dir` → text). */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

/** `name@version` of a package as the checkout has it installed, so that npm finds it in its cache. */
export async function pinned(name: string): Promise<string> {
  const text = await readFile(join(ROOT, "node_modules", name, "package.json"), "utf8");
  return `${name}@${(JSON.parse(text) as { version: string }).version}`;
}
