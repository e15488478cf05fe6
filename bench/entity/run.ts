/**
 * Entity calls against plain unary calls on the same nodes, in the same run:
 * a small write, as a plain service and as an entity type whose state (one
 * number per key, over 1,000 keys) is saved in the embedded directory store
 * after every call; then the hand-off when one of the two nodes closes under
 * that load. The servers and the caller each run in their own process.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuProfileArgs, type BenchConfig } from "../lib/config.ts";
import type { GoalOutcome } from "../lib/goals.ts";
import { median } from "../lib/stats.ts";
import type { EntityLoad, EntityPlan, HandOff } from "./contracts.ts";

/** What the entity benchmark found. */
export interface EntityReport {
  concurrency: number;
  keys: number;
  seconds: number;
  runs: number;
  plain: EntityLoad;
  entity: EntityLoad;
  /** Entity ÷ plain calls/s. */
  ratio: number;
  handoff: HandOff;
  samples: { plain: EntityLoad[]; entity: EntityLoad[] };
  goals: GoalOutcome[];
}

const CONCURRENCY = 64;
const KEYS = 1_000;

/** Runs the entity benchmark. */
export async function runEntityBench(config: BenchConfig, progress: (line: string) => void): Promise<EntityReport> {
  const dir = mkdtempSync(join(tmpdir(), "amoeba-bench-entity-"));
  const env = { ...process.env, AMOEBA_RENDEZVOUS_DIR: join(dir, "rendezvous") };
  const cluster = `bench-entity-${process.pid}`;
  const seconds = config.quick ? 2 : 5;
  const children: ChildProcess[] = [];
  try {
    progress("entity: starting two nodes with a directory store");
    const server = fork(new URL("./server.ts", import.meta.url), [cluster, join(dir, "store")], { execArgv: ["--import", "tsx", ...cpuProfileArgs("entity-server")], env, stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "json" });
    children.push(server);
    await nextMessage(server, 60_000);
    progress(`entity: plain and entity calls, ${config.runs} run(s) of ${seconds} s each, then a hand-off`);
    const plan: EntityPlan = { cluster, concurrency: CONCURRENCY, keys: KEYS, seconds, warmupMs: config.quick ? 500 : 2_000, runs: config.runs };
    const caller = fork(new URL("./caller.ts", import.meta.url), [JSON.stringify(plan)], { execArgv: ["--import", "tsx", ...cpuProfileArgs("entity-caller")], env, stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "json" });
    children.push(caller);
    // The caller asks for node a's close; the server's answer goes back to it.
    caller.on("message", (message: { close?: string }) => {
      if (message.close) server.send(message);
    });
    server.on("message", (message: { keys?: number }) => {
      if (message.keys !== undefined) caller.send(message);
    });
    const { results, handoff } = await nextMessage<{ results: EntityReport["samples"]; handoff: HandOff }>(caller, (2 * seconds * config.runs + 120) * 1000, (message) => "results" in (message as object));
    const plain = medianLoad(results.plain);
    const entity = medianLoad(results.entity);
    const ratio = plain.callsPerSecond > 0 ? entity.callsPerSecond / plain.callsPerSecond : 0;
    const goals: GoalOutcome[] = [
      {
        target: "entity calls/s ≥ 0.7× plain unary calls on the same nodes (directory store, saved per turn)",
        measured: `${ratio.toFixed(2)}× (${Math.round(entity.callsPerSecond)} vs ${Math.round(plain.callsPerSecond)} calls/s)`,
        status: results.plain.length > 0 && results.entity.length > 0 ? (ratio >= 0.7 ? "met" : "missed") : "n/a",
      },
    ];
    return { concurrency: CONCURRENCY, keys: KEYS, seconds, runs: config.runs, plain, entity, ratio, handoff, samples: results, goals };
  } finally {
    for (const child of children) child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report as a table. */
export function renderEntity(report: EntityReport): string {
  const row = (label: string, load: EntityLoad): string =>
    `${label.padEnd(30)}${Math.round(load.callsPerSecond).toLocaleString("en-US").padStart(10)}${load.p50.toFixed(2).padStart(9)}${load.p99.toFixed(2).padStart(9)}`;
  const { handoff } = report;
  return [
    `${"entities: counter.add".padEnd(30)}${"calls/s".padStart(10)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}`,
    row("plain unary (2 nodes)", report.plain),
    row(`entity, ${report.keys.toLocaleString("en-US")} keys (saved per turn)`, report.entity),
    "",
    `entity ÷ plain calls/s: ${report.ratio.toFixed(2)}×. ${report.concurrency} calls in flight, ${report.seconds} s per load, median of ${report.runs} run(s);`,
    "two nodes in one server process on one directory store (fsync per save), the caller in its own process.",
    `hand-off: one node closed under entity load, holding ${handoff.keys} keys; the ${handoff.caught} calls in flight went on for median ${handoff.medianMs.toFixed(0)} ms, max ${handoff.maxMs.toFixed(0)} ms after; ${handoff.failed} failed.`,
  ].join("\n");
}

function nextMessage<T>(child: ChildProcess, ms: number, wanted: (message: unknown) => boolean = () => true): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no report within ${ms} ms`)), ms);
    const onMessage = (message: unknown): void => {
      if (!wanted(message)) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(message as T);
    };
    child.on("message", onMessage);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`a bench process exited (code ${code})`));
    });
  });
}

function medianLoad(loads: EntityLoad[]): EntityLoad {
  if (loads.length === 0) return { callsPerSecond: 0, p50: 0, p99: 0 };
  return { callsPerSecond: median(loads.map((l) => l.callsPerSecond)), p50: median(loads.map((l) => l.p50)), p99: median(loads.map((l) => l.p99)) };
}
