/**
 * The edge benchmark: `POST /rpc/calculator/add` with keep-alive, measured
 * by autocannon in its own process, against the same handler in a plain
 * node:http server and in fastify, in the same run. Each server runs alone
 * in its own process (the TCP variant adds a backend node); the systems take
 * turns, in a rotated order each run, and each figure is the median of the runs.
 */
import { fork, type ChildProcess } from "node:child_process";
import { cpuProfileArgs, type BenchConfig } from "../lib/config.ts";
import type { GoalOutcome } from "../lib/goals.ts";
import type { ServerKind } from "./server.ts";

/** One measured load of one system. */
export interface EdgeLoad {
  requestsPerSecond: number;
  total: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU time (user + system, all threads) the server process(es) spent per request, in µs. */
  cpuPerRequest: number;
}

/** A system's median figures over the runs. */
export interface EdgeFigure {
  id: ServerKind;
  label: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  cpuPerRequest: number;
  samples: EdgeLoad[];
}

/** The report: figures per system, the target, and how it was measured. */
export interface EdgeReport {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  runs: number;
  figures: EdgeFigure[];
  /** edge ÷ plain node:http requests/s. */
  ratio: number;
  goals: GoalOutcome[];
  failures: string[];
}

const SYSTEMS: Array<{ id: ServerKind; label: string }> = [
  { id: "http", label: "plain node:http" },
  { id: "fastify", label: "fastify" },
  { id: "edge", label: "edge (handler in its node)" },
  { id: "edge-limits", label: "edge + rate limiter" },
  { id: "edge-tcp", label: "edge → backend over TCP" },
];

const SERVER = new URL("./server.ts", import.meta.url);
const LOAD = new URL("./load.ts", import.meta.url);
const CONNECTIONS = 50;

/** Runs the edge benchmark. */
export async function runEdgeBench(config: BenchConfig, progress: (line: string) => void): Promise<EdgeReport> {
  const seconds = config.quick ? 3 : 10;
  const warmupSeconds = config.quick ? 1 : 3;
  const samples = new Map<ServerKind, EdgeLoad[]>(SYSTEMS.map((system) => [system.id, []]));
  const failures: string[] = [];
  for (let run = 0; run < config.runs; run++) {
    // Rotate the order: no system always goes first on a cold machine.
    const order = SYSTEMS.map((_, i) => SYSTEMS[(i + run) % SYSTEMS.length]!);
    for (const system of order) {
      progress(`edge: run ${run + 1} of ${config.runs}, ${system.label}`);
      try {
        samples.get(system.id)!.push(await measure(system.id, warmupSeconds, seconds));
      } catch (error) {
        failures.push(`${system.label}: ${(error as Error).message}`);
        progress(`edge: ${system.label} FAILED: ${(error as Error).message}`);
      }
    }
  }
  const figures = SYSTEMS.map(({ id, label }) => {
    const loads = samples.get(id)!;
    return { id, label, requestsPerSecond: median(loads.map((l) => l.requestsPerSecond)), p50: median(loads.map((l) => l.p50)), p99: median(loads.map((l) => l.p99)), cpuPerRequest: median(loads.map((l) => l.cpuPerRequest)), samples: loads };
  });
  const plain = figures.find((f) => f.id === "http")!;
  const edge = figures.find((f) => f.id === "edge")!;
  const fastify = figures.find((f) => f.id === "fastify")!;
  const ratio = perRunRatio(edge, plain);
  const vsFastify = perRunRatio(edge, fastify);
  return {
    connections: CONNECTIONS,
    seconds,
    warmupSeconds,
    runs: config.runs,
    figures,
    ratio,
    goals: [
      {
        target: "edge POST /rpc requests/s ≥ 0.95× plain node:http (same handler, same run)",
        measured: Number.isFinite(ratio) ? `${ratio.toFixed(2)}× (fastify ${perRunRatio(fastify, plain).toFixed(2)}×)` : "not measured",
        status: Number.isFinite(ratio) ? (ratio >= 0.95 ? "met" : "missed") : "n/a",
      },
      {
        target: "edge POST /rpc requests/s ahead of fastify's (same handler, same run)",
        measured: Number.isFinite(vsFastify) ? `${vsFastify.toFixed(2)}× fastify` : "not measured",
        status: Number.isFinite(vsFastify) ? (vsFastify > 1 ? "met" : "missed") : "n/a",
      },
    ],
    failures,
  };
}

/**
 * a ÷ b requests/s within each run (the systems measured minutes apart at
 * most), then the median over runs; NaN when either was not measured.
 */
function perRunRatio(a: EdgeFigure, b: EdgeFigure): number {
  const runs = Math.min(a.samples.length, b.samples.length);
  if (runs === 0) return Number.NaN;
  return median(Array.from({ length: runs }, (_, i) => a.samples[i]!.requestsPerSecond / b.samples[i]!.requestsPerSecond));
}

/** Starts the system's server(s), warms it up, measures once, stops it. */
async function measure(kind: ServerKind, warmupSeconds: number, seconds: number): Promise<EdgeLoad> {
  const children: ChildProcess[] = [];
  try {
    let backend: string | undefined;
    if (kind === "edge-tcp") {
      const started = start("backend", undefined);
      children.push(started.child);
      backend = (await started.ready).address;
    }
    const started = start(kind, backend);
    children.push(started.child);
    const { port } = await started.ready;
    await load(port!, warmupSeconds);
    const before = await Promise.all(children.map(cpuOf));
    const result = await load(port!, seconds);
    const after = await Promise.all(children.map(cpuOf));
    if (result.errors > 0 || result.non2xx > 0) throw new Error(`${result.errors} errors and ${result.non2xx} non-2xx answers of ${result.total}`);
    const cpu = after.reduce((sum, value, i) => sum + value - before[i]!, 0);
    return { ...result, cpuPerRequest: result.total > 0 ? cpu / result.total : 0 };
  } finally {
    for (const child of children) child.kill();
  }
}

function start(kind: ServerKind, backend: string | undefined): { child: ChildProcess; ready: Promise<{ port?: number; address?: string }> } {
  const child = fork(SERVER, [JSON.stringify({ kind, backend })], { execArgv: ["--import", "tsx", ...cpuProfileArgs(`edge-${kind}`)], stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "json" });
  const ready = once<{ port?: number; address?: string }>(child, 30_000, `the ${kind} server starts`);
  return { child, ready };
}

/** The CPU time a server process has used so far (µs). */
async function cpuOf(child: ChildProcess): Promise<number> {
  const answer = once<{ cpuMicros: number }>(child, 10_000, "the server reports its CPU time");
  child.send("cpu");
  return (await answer).cpuMicros;
}

async function load(port: number, seconds: number): Promise<Omit<EdgeLoad, "cpuPerRequest">> {
  const child = fork(LOAD, [JSON.stringify({ port, connections: CONNECTIONS, seconds })], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "json" });
  try {
    return await once<Omit<EdgeLoad, "cpuPerRequest">>(child, (seconds + 30) * 1000, "the load generator reports");
  } finally {
    child.kill();
  }
}

/** The child's first message, or an error when it exits or takes longer than `ms`. */
function once<T>(child: ChildProcess, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new Error(`${what}: nothing within ${ms} ms`))), ms);
    const onMessage = (message: T): void => finish(() => resolve(message));
    const onExit = (code: number | null): void => finish(() => reject(new Error(`${what}: the process exited (code ${code})`)));
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
      settle();
    };
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The report as a table, the target, and how it was measured. */
export function renderEdge(report: EdgeReport): string {
  const plain = report.figures.find((f) => f.id === "http")!;
  const rows = report.figures.map((f) => [
    f.label,
    Math.round(f.requestsPerSecond).toLocaleString("en-US"),
    plain.requestsPerSecond > 0 ? `${(f.requestsPerSecond / plain.requestsPerSecond).toFixed(2)}×` : "-",
    `${f.p50.toFixed(1)}`,
    `${f.p99.toFixed(1)}`,
    `${f.cpuPerRequest.toFixed(1)}`,
    plain.cpuPerRequest > 0 ? `${(f.cpuPerRequest / plain.cpuPerRequest).toFixed(2)}×` : "-",
  ]);
  const header = ["edge: POST /rpc/calculator/add", "req/s", "÷ node:http", "p50 ms", "p99 ms", "CPU µs/req", "÷ node:http"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  return [
    line(header),
    ...rows.map(line),
    "",
    `autocannon in its own process, ${report.connections} keep-alive connections, ${report.warmupSeconds} s warm-up then ${report.seconds} s measured per system; median of ${report.runs} run(s).`,
    "CPU µs/req: the server process's CPU time (all threads; with the backend's for the TCP variant) per request — steadier than req/s when other work shares the machine.",
    "Same handler and zod schema everywhere; the edge runs with its default limits (rate limiter off unless named) and validates at the callee.",
    ...report.failures.map((f) => `FAILED: ${f}`),
  ].join("\n");
}
