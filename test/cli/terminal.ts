import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, WAIT_MS, type Cleanup, type Finished } from "./support.ts";

/** Whether `script` (util-linux) is here to give a command a terminal of its own. */
export const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;

/**
 * Runs `amoeba <args>` on a pseudo-terminal made by `script`, as a user at a
 * terminal would; stdout and stderr both arrive in `stdout`, with the
 * terminal's own codes. Killed after `ms`.
 */
export function runCliOnTerminal(args: readonly string[], cleanup: Cleanup, ms = WAIT_MS): Promise<Finished> {
  const command = [process.execPath, join(ROOT, "bin/amoeba.js"), ...args].map(quote).join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, COLUMNS: "120", LINES: "40" } });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  cleanup(kill);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`still running after ${ms} ms\n${stdout}${stderr}`));
    }, ms);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
