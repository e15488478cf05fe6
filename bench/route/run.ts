/**
 * The cost of one gateway hop: `calculator.add` from a caller in cluster A
 * to the service in cluster B, straight over TCP and through one
 * `amoeba gateway` between A and B, in the same run. The service, the
 * gateway and the caller each run in their own process.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuProfileArgs, type BenchConfig } from "../lib/config.ts";
import type { GoalOutcome } from "../lib/goals.ts";
import { median } from "../lib/stats.ts";

/** What the caller is asked to measure. */
export interface HopPlan {
  cluster: string;
  /** The service's own address, for the direct calls. */
  address: string;
  concurrency: number;
  seconds: number;
  warmupMs: number;
  runs: number;
}

/** One measured load. */
export interface HopLoad {
  callsPerSecond: number;
  p50: number;
  p99: number;
}

/** Direct and through a gateway: medians over the runs, and the gateway's share of the direct calls/s. */
export interface RouteReport {
  concurrency: number;
  seconds: number;
  runs: number;
  direct: HopLoad;
  gateway: HopLoad;
  ratio: number;
  samples: { direct: HopLoad[]; gateway: HopLoad[] };
  goals: GoalOutcome[];
}

const BIN = fileURLToPath(new URL("../../bin/amoeba.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CALLER = new URL("./caller.ts", import.meta.url);
const CONCURRENCY = 16;

/** Runs the gateway-hop benchmark. */
export async function runRouteBench(config: BenchConfig, progress: (line: string) => void): Promise<RouteReport> {
  const rendezvous = mkdtempSync(join(tmpdir(), "amoeba-bench-route-"));
  const env = { ...process.env, AMOEBA_RENDEZVOUS_DIR: rendezvous };
  const near = `bench-a-${process.pid}`;
  const far = `bench-b-${process.pid}`;
  const seconds = config.quick ? 2 : 5;
  const children: ChildProcess[] = [];
  try {
    progress("route: starting the service and the gateway");
    const serve = cli(["serve", "examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--cluster", far], env, children);
    const address = (await serve.match(/serving .+ on (tcp:\/\/\S+)\n/))[1]!;
    const gateway = cli(["gateway", "--join", near, "--join", far, "--name", "bench-gw"], env, children);
    await gateway.match(new RegExp(`routes into ${near}: calculator@`));
    progress(`route: direct and through the gateway, ${config.runs} run(s) of ${seconds} s each`);
    const plan: HopPlan = { cluster: near, address, concurrency: CONCURRENCY, seconds, warmupMs: config.quick ? 500 : 2_000, runs: config.runs };
    const caller = fork(CALLER, [JSON.stringify(plan)], { execArgv: ["--import", "tsx", ...cpuProfileArgs("route-caller")], env, stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "json" });
    children.push(caller);
    const samples = await firstMessage<RouteReport["samples"]>(caller, (2 * seconds * config.runs + 90) * 1000);
    const direct = medianLoad(samples.direct);
    const through = medianLoad(samples.gateway);
    const ratio = direct.callsPerSecond > 0 ? through.callsPerSecond / direct.callsPerSecond : 0;
    return { concurrency: CONCURRENCY, seconds, runs: config.runs, direct, gateway: through, ratio, samples, goals: hopGoals(samples) };
  } finally {
    for (const child of children) child.kill();
    rmSync(rendezvous, { recursive: true, force: true });
  }
}

/**
 * The hop's targets, each ratio taken within a run (direct and through the
 * gateway measured back to back), then the median over runs.
 */
function hopGoals(samples: RouteReport["samples"]): GoalOutcome[] {
  const runs = Math.min(samples.direct.length, samples.gateway.length);
  const perRun = (pick: (load: HopLoad) => number): number =>
    runs === 0 ? Number.NaN : median(Array.from({ length: runs }, (_, i) => pick(samples.gateway[i]!) / pick(samples.direct[i]!)));
  const calls = perRun((load) => load.callsPerSecond);
  const tail = perRun((load) => load.p99);
  const status = (value: number, pass: boolean): GoalOutcome["status"] => (Number.isFinite(value) ? (pass ? "met" : "missed") : "n/a");
  return [
    { target: "one gateway hop calls/s ≥ 0.45× direct", measured: `${calls.toFixed(2)}× direct`, status: status(calls, calls >= 0.45) },
    { target: "one gateway hop p99 ≤ 3× direct's", measured: `${tail.toFixed(2)}× direct`, status: status(tail, tail <= 3) },
  ];
}

/** The report as a table. */
export function renderRoute(report: RouteReport): string {
  const row = (label: string, load: HopLoad): string =>
    `${label.padEnd(22)}${Math.round(load.callsPerSecond).toLocaleString("en-US").padStart(10)}${load.p50.toFixed(2).padStart(9)}${load.p99.toFixed(2).padStart(9)}`;
  return [
    `${"gateway hop: calc.add".padEnd(22)}${"calls/s".padStart(10)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}`,
    row("direct (TCP)", report.direct),
    row("through one gateway", report.gateway),
    "",
    `through ÷ direct calls/s: ${report.ratio.toFixed(2)}×. ${report.concurrency} calls in flight, ${report.seconds} s per load, median of ${report.runs} run(s);`,
    "service, gateway and caller each in their own process (the gateway's hop adds a process that decodes, dispatches and re-sends every call).",
  ].join("\n");
}

/** `amoeba <args>` with its output read for a ready line. */
function cli(args: string[], env: NodeJS.ProcessEnv, children: ChildProcess[]): { match: (pattern: RegExp) => Promise<RegExpMatchArray> } {
  const child = spawn(process.execPath, [...cpuProfileArgs(`route-${args[0]}`), BIN, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  return {
    match: (pattern) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(() => reject(new Error(`amoeba ${args[0]}: no ${pattern} within 60 s`))), 60_000);
        const check = (): void => {
          const found = pattern.exec(output);
          if (found) finish(() => resolve(found));
        };
        const exited = (): void => finish(() => reject(new Error(`amoeba ${args[0]} exited before printing ${pattern}`)));
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          child.stdout!.off("data", check);
          child.off("exit", exited);
          settle();
        };
        child.stdout!.on("data", check);
        child.once("exit", exited);
        check();
      }),
  };
}

function firstMessage<T>(child: ChildProcess, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the caller reported nothing within ${ms} ms`)), ms);
    child.once("message", (message: T) => {
      clearTimeout(timer);
      resolve(message);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the caller exited (code ${code})`));
    });
  });
}

function medianLoad(loads: HopLoad[]): HopLoad {
  if (loads.length === 0) return { callsPerSecond: 0, p50: 0, p99: 0 };
  return { callsPerSecond: median(loads.map((l) => l.callsPerSecond)), p50: median(loads.map((l) => l.p50)), p99: median(loads.map((l) => l.p99)) };
}
