/**
 * The shop example (`npm start`) as its users run it: real processes, real
 * Unix sockets. Checks what it prints and that it never leaves a process behind.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = "examples/shop/main.ts";
const SERVICES = ["catalog", "pricing", "orders"];

/** Every pid seen in any run, killed at the end should a test fail half-way. */
const seen = new Set<number>();
after(() => {
  for (const pid of seen) if (!gone(pid)) process.kill(pid, "SIGKILL");
});

interface Run {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the output matches `pattern`; rejects after `timeout` ms or if the process ends first. */
  waitFor: (pattern: RegExp, timeout: number) => Promise<void>;
  /** Resolves with the exit code; SIGKILLs the process group after `timeout` ms. */
  exited: (timeout: number) => Promise<number | null>;
}

/** Starts the example in a process group of its own, as a terminal would. */
function runShop(args: string[]): Run {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    async waitFor(pattern, timeout) {
      const end = Date.now() + timeout;
      while (!pattern.test(output)) {
        if (child.exitCode !== null || child.signalCode !== null) assert.fail(`the example ended before printing ${pattern}:\n${output}`);
        if (Date.now() > end) assert.fail(`no ${pattern} within ${timeout} ms:\n${output}`);
        await sleep(50);
      }
    },
    async exited(timeout) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), timeout)));
      const result = await Promise.race([exit, late]);
      clearTimeout(timer);
      if (result !== "late") return result;
      process.kill(-child.pid!, "SIGKILL");
      assert.fail(`the example did not exit within ${timeout} ms:\n${output}`);
    },
  };
}

/** The service processes the example said it started: name → pid and address. */
function started(output: string): Map<string, { pid: number; address: string }> {
  const found = new Map<string, { pid: number; address: string }>();
  for (const [, name, address, pid] of output.matchAll(/starting (\w+)… ready on (\S+) \(pid (\d+)/g)) {
    found.set(name!, { pid: Number(pid), address: address! });
    seen.add(Number(pid));
  }
  return found;
}

/** Whether a process is gone (a zombie waiting for its reaper counts as gone). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

async function allGone(pids: number[], timeout: number): Promise<void> {
  const end = Date.now() + timeout;
  while (pids.some((pid) => !gone(pid))) {
    if (Date.now() > end) assert.fail(`still running after ${timeout} ms: ${pids.filter((pid) => !gone(pid)).join(", ")}`);
    await sleep(50);
  }
}

function socketDir(services: Map<string, { address: string }>): string {
  return dirname(services.get("catalog")!.address.replace(/^unix:\/\//, ""));
}

test("--once: one round across three processes, a clean failure, then every process stopped", async () => {
  const run = runShop(["--once"]);
  const code = await run.exited(60_000);
  const output = run.output();
  assert.equal(code, 0, output);

  const services = started(output);
  assert.deepEqual([...services.keys()], SERVICES, output);
  for (const [name, { pid }] of services) {
    assert.match(output, new RegExp(`\\b${name}@pid ${pid}\\b`), `${name} served calls in its own process`);
  }
  assert.match(output, /orders\.place .*→ catalog\.check [\d.]+ ms, pricing\.quote [\d.]+ ms · total [\d.]+ ms · order #1 = [\d.]+ EUR/);
  assert.match(output, /catalog\.check on catalog@pid \d+, \d+ of 2000 ms deadline left/, "the deadline travels to nested calls");
  assert.match(output, /trace [\da-f]{8}… on all 3 hops/, "the trace travels to nested calls");
  assert.match(output, /1×unicorn ✗ NOT_FOUND from catalog\.check on catalog@pid \d+/);
  assert.match(output, /0×apple ✗ INVALID_ARGUMENT from orders\.place on orders@pid \d+/);
  assert.match(output, /catalog\.browse \(catalog@pid \d+\) streamed 5 products/);
  assert.match(output, /orders\.track #2 .* placed → paid → packed → shipped/);
  assert.match(output, /event order\.placed #1 \(orders → catalog\) → stock\.changed \(catalog → shopper\)/);
  for (const name of SERVICES) assert.match(output, new RegExp(`${name} \\(pid \\d+\\) stopped, exit 0`));

  await allGone([...services.values()].map((service) => service.pid), 5_000);
  assert.ok(!existsSync(socketDir(services)), "the socket directory is removed");
});

test("Ctrl-C while it runs: every child drains and exits, and so does the example", async () => {
  const run = runShop([]);
  await run.waitFor(/^round 2 · /m, 60_000);
  const services = started(run.output());
  // A terminal sends Ctrl-C to the whole foreground process group.
  process.kill(-run.child.pid!, "SIGINT");
  const code = await run.exited(15_000);
  const output = run.output();
  assert.equal(code, 0, output);
  assert.match(output, /SIGINT: stopping/);
  for (const name of SERVICES) assert.match(output, new RegExp(`${name} \\(pid \\d+\\) stopped, exit 0`));
  await allGone([...services.values()].map((service) => service.pid), 5_000);
  assert.ok(!existsSync(socketDir(services)));
});

test("the example killed with SIGKILL: its children notice and exit on their own", async () => {
  const run = runShop([]);
  await run.waitFor(/^round 1$/m, 60_000);
  const services = started(run.output());
  assert.equal(services.size, 3);
  run.child.kill("SIGKILL");
  await run.exited(5_000);
  await allGone([...services.values()].map((service) => service.pid), 10_000);
  rmSync(socketDir(services), { recursive: true, force: true });
});
