/**
 * The shop example (`npm start`) as its users run it: real processes, real
 * Unix sockets, found by look-up. Checks what it prints and that it never
 * leaves a process behind.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { rendezvousDir } from "../../src/lookup/rendezvous.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = "examples/shop/main.ts";
/** Every process the example starts, in the order it starts them. */
const PROCESSES = ["pricing-1", "pricing-2", "gateway-1", "gateway-2", "catalog", "carts", "orders", "edge"];
/** The service processes among them (the gateways serve no service of their own). */
const SERVICES = PROCESSES.filter((name) => !name.startsWith("gateway-"));

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

/** The processes the example said it started: name → pid and address. */
function started(output: string): Map<string, { pid: number; address: string }> {
  const found = new Map<string, { pid: number; address: string }>();
  for (const [, name, address, pid] of output.matchAll(/starting ([\w-]+)… ready on (\S+) \(pid (\d+)/g)) {
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

/** The run's clusters, named after the example's pid. */
function clustersOf(mainPid: number): string[] {
  return [`core-${mainPid}`, `region-b-${mainPid}`];
}

/** The look-up line: the shopper joined the run's own core and found the three services, pricing through a gateway. */
function assertLookup(output: string, mainPid: number): void {
  assert.match(
    output,
    new RegExp(
      `^look-up: \\d+ members in core-${mainPid} — catalog@1\\.0\\.0 on catalog, cart@1\\.0\\.0 on carts, pricing@1\\.0\\.0 on gateway-[12], orders@1\\.0\\.0 on orders \\(found in \\d+ ms\\)$`,
      "m",
    ),
    output,
  );
}

/** The arguments a process was started with. */
function argv(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
}

test("--once: one round across two clusters and their gateways, end users through the edge, then every process stopped", async () => {
  // Two runs at once: each has clusters of its own, so neither finds the other's services.
  const runs = [runShop(["--once", "--dashboard-port", "0"]), runShop(["--once", "--dashboard-port", "0"])];
  const codes = await Promise.all(runs.map((run) => run.exited(120_000)));
  for (const [i, run] of runs.entries()) {
    const output = run.output();
    assert.equal(codes[i], 0, output);

    const processes = started(output);
    assert.deepEqual([...processes.keys()], PROCESSES, output);
    assert.match(output.split("\n").slice(0, 3).join("\n"), /^dashboard: http:\/\/127\.0\.0\.1:\d+\//m, "the dashboard's address comes first");
    assertLookup(output, run.child.pid!);
    for (const name of ["catalog", "orders"]) {
      assert.match(output, new RegExp(`\\b${name}@pid ${processes.get(name)!.pid}\\b`), `${name} served calls in its own process`);
    }
    const pids = new Set([...processes.values()].map((process) => process.pid));
    for (const [, pid] of output.matchAll(/@pid (\d+)/g)) assert.ok(pids.has(Number(pid)), `pid ${pid} is not of this run:\n${output}`);
    assert.match(output, /orders\.place .*→ catalog\.check [\d.]+ ms, pricing\.quote [\d.]+ ms · total [\d.]+ ms · order #1 = [\d.]+ EUR/);
    assert.match(output, /catalog\.check on catalog@pid \d+, \d+ of 2000 ms deadline left/, "the deadline travels to nested calls");
    assert.match(output, /pricing\.quote on pricing-[12]@pid \d+, \d+ of 2000 ms deadline left/, "and through a gateway into the other region");
    assert.match(output, /trace [\da-f]{8}… on all 3 hops/, "the trace travels to nested calls");
    assert.match(output, /1×unicorn ✗ NOT_FOUND from catalog\.check on catalog@pid \d+/);
    assert.match(output, /0×apple ✗ INVALID_ARGUMENT from orders\.place on orders@pid \d+/);
    assert.match(output, /catalog\.browse \(catalog@pid \d+\) streamed 5 products/);
    assert.match(output, /cart "shopper" \(carts@pid \d+\): 3 adds, checkout → 3×apple \+ 2×pear in [\d.]+ ms/, "the cart, an entity, kept its lines between calls");
    assert.match(output, /orders\.track #2 .* placed → paid → packed → shipped/);
    assert.match(output, /event order\.placed #1 \(orders → catalog\) → stock\.changed \(catalog → shopper\)/);
    // Each run starts with full stock: no order of the other run reached this catalog.
    assert.match(output, /stock\.changed .*: apple 100→97, pear 80→78/);
    assert.match(output, /^users: [1-9]\d* calls through the edge in 2 s · [1-9]\d* ok/m, "end users reached the shop through the edge");
    for (const name of PROCESSES) assert.match(output, new RegExp(`${name} \\(pid \\d+\\) stopped, exit 0`));

    await allGone([...pids], 5_000);
    assert.ok(!existsSync(socketDir(processes)), "the socket directory is removed");
    for (const cluster of clustersOf(run.child.pid!)) assert.ok(!existsSync(rendezvousDir(cluster)), `${cluster}'s rendezvous folder is removed`);
  }
});

test("Ctrl-C while it runs: the dashboard shows both clusters, every child drains and exits, and so does the example", async () => {
  const run = runShop(["--dashboard-port", "0"]);
  await run.waitFor(/^round 2 · /m, 120_000);
  const processes = started(run.output());
  assertLookup(run.output(), run.child.pid!);
  const dashboard = /^dashboard: (\S+)/m.exec(run.output())![1]!;
  const snapshot = (await (await fetch(new URL("/api/snapshot", dashboard))).json()) as { clusters: Array<{ name: string }> };
  assert.deepEqual(snapshot.clusters.map((cluster) => cluster.name).sort(), clustersOf(run.child.pid!).sort());
  // No process was told where another listens: each was given only its own address and its cluster.
  const services = new Map([...processes].filter(([name]) => SERVICES.includes(name)));
  const sockets = socketDir(processes);
  for (const [name, { pid }] of services) {
    const args = argv(pid);
    assert.ok(!args.includes("--connect"), `${name}: ${args.join(" ")}`);
    assert.deepEqual(
      args.filter((arg) => arg.startsWith("unix://") || arg.startsWith("tcp://")),
      [`unix://${sockets}/${name}.sock`],
      `${name} knows only its own address: ${args.join(" ")}`,
    );
    assert.ok(clustersOf(run.child.pid!).includes(args[args.indexOf("--cluster") + 1]!), `${name}: ${args.join(" ")}`);
  }
  // A terminal sends Ctrl-C to the whole foreground process group.
  process.kill(-run.child.pid!, "SIGINT");
  const code = await run.exited(15_000);
  const output = run.output();
  assert.equal(code, 0, output);
  assert.match(output, /SIGINT: stopping/);
  for (const name of PROCESSES) assert.match(output, new RegExp(`${name} \\(pid \\d+\\) stopped, exit 0`));
  await allGone([...processes.values()].map((process) => process.pid), 5_000);
  assert.ok(!existsSync(socketDir(processes)));
});

test("the example killed with SIGKILL: its children notice and exit on their own", async () => {
  const run = runShop(["--dashboard-port", "0"]);
  await run.waitFor(/^round 1$/m, 120_000);
  const processes = started(run.output());
  assert.equal(processes.size, PROCESSES.length);
  run.child.kill("SIGKILL");
  await run.exited(5_000);
  await allGone([...processes.values()].map((process) => process.pid), 10_000);
  rmSync(socketDir(processes), { recursive: true, force: true });
  for (const cluster of clustersOf(run.child.pid!)) rmSync(rendezvousDir(cluster), { recursive: true, force: true });
});
