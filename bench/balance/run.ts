import { cpus, loadavg } from "node:os";
import { Child } from "../lib/children.ts";
import type { BenchConfig } from "../lib/config.ts";
import type { GoalOutcome } from "../lib/goals.ts";
import type { DelayServerArgument } from "./delay-server.ts";
import type { FastPathArgument } from "./fast-path-caller.ts";
import { evaluateBalanceGoals } from "./goals.ts";
import type { HashArgument } from "./hash-child.ts";
import { balancePlan, type BalancePlan } from "./plan.ts";
import { expectMessage, type FastPathPhase, type HashReport, type StrategySample } from "./protocol.ts";
import type { StrategyCallerArgument } from "./strategy-caller.ts";

const here = (file: string): URL => new URL(`./${file}`, import.meta.url);
const AMOEBA_SERVER = new URL("../targets/amoeba-server.ts", import.meta.url);
// Start-up under tsx on a busy machine, and the slack over each phase's own time cap.
const START_TIMEOUT = 45_000;
const SLACK = 30_000;

/** The balancing benchmarks' figures, as written to latest.json. */
export interface BalanceReport {
  plan: BalancePlan;
  cpus: number;
  loadAverage: { start: number[]; end: number[] };
  strategies: StrategySample[];
  hash: HashReport | null;
  fastPath: FastPathPhase[];
  /** What failed, by measurement. */
  failures: string[];
  goals: GoalOutcome[];
  elapsedMs: number;
}

/**
 * The balancing benchmarks, one after the other so they do not share the
 * machine: strategies under a slow instance (4 servers and a caller, each
 * its own process), consistent hashing (one process), and the cost of
 * balancing on the fast path (a server and a caller). Each stops its
 * processes before the next starts; a failed one is recorded and the others
 * still run.
 */
export async function runBalanceBench(config: BenchConfig, progress: (line: string) => void): Promise<BalanceReport> {
  const plan = balancePlan(config);
  const started = performance.now();
  const start = loadavg();
  const failures: string[] = [];
  const attempt = async <T>(name: string, measure: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await measure();
    } catch (error) {
      const message = `${name}: ${error instanceof Error ? error.message : String(error)}`;
      failures.push(message);
      progress(`balance ${message}: FAILED`);
      return fallback;
    }
  };
  const strategies = await attempt("strategies", () => measureStrategies(plan, progress), []);
  const hash = await attempt("hashing", () => measureHashing(plan, progress), null);
  const fastPath = await attempt("fast path", () => measureFastPath(plan, progress), []);
  const report: BalanceReport = {
    plan,
    cpus: cpus().length,
    loadAverage: { start, end: loadavg() },
    strategies,
    hash,
    fastPath,
    failures,
    goals: [],
    elapsedMs: performance.now() - started,
  };
  report.goals = evaluateBalanceGoals(report);
  return report;
}

/** 4 instances (the last one slow) and a caller that tries each strategy against them, run after run. */
async function measureStrategies(plan: BalancePlan, progress: (line: string) => void): Promise<StrategySample[]> {
  const { fastDelayMs, slowDelayMs, runs, load } = plan.strategies;
  const specs: DelayServerArgument[] = [
    { name: "fast-1", delayMs: fastDelayMs },
    { name: "fast-2", delayMs: fastDelayMs },
    { name: "fast-3", delayMs: fastDelayMs },
    { name: "slow", delayMs: slowDelayMs },
  ];
  const children: Child[] = [];
  try {
    const servers = specs.map((spec) => new Child(`balance instance ${spec.name}`, here("delay-server.ts"), spec));
    children.push(...servers);
    const addresses = await Promise.all(servers.map(async (server) => (await server.expect("ready", START_TIMEOUT)).address));
    progress(`balance strategies: 4 instances up (${fastDelayMs} ms ×3, ${slowDelayMs} ms ×1)`);
    const argument: StrategyCallerArgument = { addresses, slowName: "slow", runs, load };
    const caller = new Child("balance strategy caller", here("strategy-caller.ts"), argument);
    children.unshift(caller);
    const samples: StrategySample[] = [];
    // The first answer also waits for the caller's start-up and its own warm-up.
    let timeout = START_TIMEOUT + 4 * load.warmupMs + load.maxMs + SLACK;
    for (let i = 0; i < runs * 3; i++) {
      const { sample } = await expectMessage(caller, "strategy", timeout);
      timeout = load.warmupMs + load.maxMs + SLACK;
      samples.push(sample);
      const { result } = sample;
      progress(
        `balance run ${sample.run + 1} ${sample.strategy.padEnd(11)} ${Math.round(result.callsPerSec).toLocaleString("en-US").padStart(7)} calls/s` +
          `  mean ${(result.meanUs / 1000).toFixed(2)} ms  p99 ${(result.p99Us / 1000).toFixed(2)} ms  slow instance ${(sample.slowShare * 100).toFixed(1)} %` +
          (result.errors > 0 ? `  ${result.errors} ERRORS` : "") +
          (result.truncated ? `  (time cap: ${result.calls} calls)` : ""),
      );
    }
    await expectMessage(caller, "strategies-done", SLACK);
    return samples;
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

/** HashRing over 10 ids, then the "hash" strategy end to end, in one process. */
async function measureHashing(plan: BalancePlan, progress: (line: string) => void): Promise<HashReport> {
  const argument: HashArgument = plan.hash;
  const child = new Child("balance hashing", here("hash-child.ts"), argument);
  try {
    const { report } = await expectMessage(child, "hash", START_TIMEOUT + 120_000);
    const worst = Math.max(...report.trials.map((trial) => trial.imbalance));
    progress(`balance hashing: ${report.trials.length} id sets, worst imbalance ${worst.toFixed(3)}${report.endToEnd ? `; end to end in ${(report.endToEnd.elapsedMs / 1000).toFixed(1)} s` : ""}`);
    return report;
  } finally {
    await child.stop();
  }
}

/** One server; a caller alternating a fixed connection and a balanced client. */
async function measureFastPath(plan: BalancePlan, progress: (line: string) => void): Promise<FastPathPhase[]> {
  const { rounds, load } = plan.fastPath;
  const children: Child[] = [];
  try {
    const server = new Child("balance fast-path server", AMOEBA_SERVER, { listen: "tcp://127.0.0.1:0" });
    children.push(server);
    const { address } = await server.expect("ready", START_TIMEOUT);
    const argument: FastPathArgument = { address, rounds, load };
    const caller = new Child("balance fast-path caller", here("fast-path-caller.ts"), argument);
    children.unshift(caller);
    const phases: FastPathPhase[] = [];
    let timeout = START_TIMEOUT + 2 * load.warmupMs + load.maxMs + SLACK;
    for (let i = 0; i < rounds * 2; i++) {
      const { phase } = await expectMessage(caller, "fast-path", timeout);
      timeout = load.maxMs + SLACK;
      phases.push(phase);
      const { result } = phase;
      progress(
        `balance fast path round ${phase.round + 1} ${phase.variant.padEnd(8)} ${Math.round(result.callsPerSec).toLocaleString("en-US").padStart(7)} calls/s` +
          `  p50 ${result.p50Us.toFixed(0)} µs  p99 ${result.p99Us.toFixed(0)} µs  client CPU ${result.clientCpuUs.toFixed(1)} µs/call` +
          (result.errors > 0 ? `  ${result.errors} ERRORS` : "") +
          (result.truncated ? `  (time cap: ${result.calls} calls)` : ""),
      );
    }
    await expectMessage(caller, "fast-path-done", SLACK);
    return phases;
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}
