/**
 * The NATS comparison: Amoeba on NATS (straight to the instance, and through
 * the queue group), plain nats.js `request()` to a
 * queue-subscribed responder, and moleculer 0.14 with its NATS transporter,
 * all against one nats-server this bench starts on a free port of 127.0.0.1.
 * Each system's server and load client are processes of their own, all
 * started together; then, scenario by scenario, each system takes its turn
 * (the order rotating per run), so the figures compared are measured close
 * together under the same machine load. Small `{a, b}` → sum at c=1 and c=64.
 */
import { loadavg } from "node:os";
import { natsMissing, startNatsServer, type NatsServer } from "../../test/support/nats-server.ts";
import { Child } from "../lib/children.ts";
import type { BenchConfig } from "../lib/config.ts";
import { readCpuNs } from "../lib/cpu.ts";
import { Figures, type Sample } from "../lib/figures.ts";
import { count, micros, times } from "../lib/format.ts";
import type { GoalOutcome } from "../lib/goals.ts";
import type { LoadPlan } from "../lib/load.ts";
import type { LoadResult } from "../lib/messages.ts";
import type { Scenario } from "../lib/scenarios.ts";
import { median, ratio } from "../lib/stats.ts";
import { renderTable, type Column } from "../lib/table.ts";
import type { NatsLoadClientArgument } from "./load-client.ts";
import { NATS_SYSTEMS, type NatsSystemSpec } from "./systems.ts";

/** The small-payload scenarios of the main comparison. */
export const NATS_SCENARIOS: readonly Scenario[] = [
  { id: "small-c1", payload: "small", concurrency: 1, label: "small {a,b}→sum, c=1" },
  { id: "small-c64", payload: "small", concurrency: 64, label: "small {a,b}→sum, c=64" },
];

/** What the NATS comparison measured. */
export interface NatsReport {
  natsServer: string;
  runs: number;
  loadAverage: { start: number[]; end: number[] };
  systems: Array<{
    id: string;
    label: string;
    figures: Record<string, ReturnType<Figures["get"]> | null>;
    /** nats-server CPU µs per call, median over runs, by scenario. */
    natsServerCpuUs: Record<string, number>;
    samples: Record<string, readonly Sample[]>;
  }>;
  goals: GoalOutcome[];
  failures: string[];
}

const LOAD_CLIENT = new URL("./load-client.ts", import.meta.url);
// Start-up (tsx compiling, moleculer discovery), and the slack over each phase's own time cap.
const START_TIMEOUT = 45_000;
const SLACK = 30_000;

/** Runs the NATS comparison; a missing nats-server binary is reported, not thrown. */
export async function runNatsBench(config: BenchConfig, progress: (line: string) => void): Promise<NatsReport> {
  const figures = new Figures();
  const natsCpu = new Map<string, number[]>();
  const failures: string[] = [];
  const start = loadavg();
  if (natsMissing) {
    return { natsServer: "", runs: 0, loadAverage: { start, end: loadavg() }, systems: [], goals: evaluateNatsGoals(figures), failures: [natsMissing] };
  }
  const server = await startNatsServer();
  // Ctrl-C or a crash of the orchestrator must not leave the server behind.
  const killServer = (): void => void server.kill();
  process.once("exit", killServer);
  let version = "";
  try {
    for (let run = 0; run < config.runs; run++) {
      progress(`nats: run ${run + 1} of ${config.runs}`);
      await oneRun(run, server, config, figures, natsCpu, failures, progress);
    }
    version = /Version:\s+(\S+)/.exec(server.log())?.[1] ?? "";
  } finally {
    process.off("exit", killServer);
    await server.stop();
  }
  return {
    natsServer: version ? `nats-server ${version}` : "nats-server",
    runs: config.runs,
    loadAverage: { start, end: loadavg() },
    systems: NATS_SYSTEMS.map(({ id, label }) => ({
      id,
      label,
      figures: Object.fromEntries(NATS_SCENARIOS.map((scenario) => [scenario.id, figures.get(id, scenario.id) ?? null])),
      natsServerCpuUs: Object.fromEntries(NATS_SCENARIOS.map((scenario) => [scenario.id, median(natsCpu.get(`${id}|${scenario.id}`) ?? [])])),
      samples: Object.fromEntries(NATS_SCENARIOS.map((scenario) => [scenario.id, figures.samples(id, scenario.id)])),
    })),
    goals: evaluateNatsGoals(figures),
    failures,
  };
}

/** One system's processes during one run. */
interface Running {
  system: NatsSystemSpec;
  server: Child;
  client: Child;
}

async function oneRun(
  run: number,
  nats: NatsServer,
  config: BenchConfig,
  figures: Figures,
  natsCpu: Map<string, number[]>,
  failures: string[],
  progress: (line: string) => void,
): Promise<void> {
  const natsPid = nats.pid;
  const children: Child[] = [];
  const live: Running[] = [];
  try {
    const started = await Promise.allSettled(
      NATS_SYSTEMS.map(async (system) => {
        const server = new Child(`${system.id} server`, system.server, { natsUrl: nats.url, ...(system.prefix ? { prefix: system.prefix } : {}) });
        children.push(server);
        const { address } = await server.expect("ready", START_TIMEOUT);
        const argument: NatsLoadClientArgument = { system: system.id, natsUrl: nats.url, serverAddress: address, warmupCalls: config.warmupCalls, warmupMs: config.warmupMs };
        const client = new Child(`${system.id} client`, LOAD_CLIENT, argument);
        children.push(client);
        await client.expect("ready", START_TIMEOUT + 2 * config.warmupMs);
        return { system, server, client };
      }),
    );
    started.forEach((outcome, i) => {
      if (outcome.status === "fulfilled") live.push(outcome.value);
      else fail(NATS_SYSTEMS[i]!.id, outcome.reason, figures, failures, progress);
    });
    for (const [index, scenario] of NATS_SCENARIOS.entries()) {
      const order = live.map((_, i) => live[(i + run + index) % live.length]!);
      for (const running of order) {
        const plan: LoadPlan = {
          concurrency: scenario.concurrency,
          calls: scenario.concurrency === 1 ? config.callsC1 : config.callsC64,
          warmupCalls: config.warmupCalls,
          warmupMs: config.warmupMs,
          maxMs: config.measureMs,
        };
        try {
          running.client.send({ type: "run", scenario, plan });
          await running.client.expect("measuring", plan.warmupMs + SLACK);
          const serverBefore = readCpuNs(running.server.pid);
          const natsBefore = natsPid === undefined ? undefined : readCpuNs(natsPid);
          const { result } = await running.client.expect("result", plan.maxMs + SLACK);
          const serverAfter = readCpuNs(running.server.pid);
          const natsAfter = natsPid === undefined ? undefined : readCpuNs(natsPid);
          const serverCpuUs = serverBefore === undefined || serverAfter === undefined ? undefined : (serverAfter - serverBefore) / 1000 / result.calls;
          figures.add(running.system.id, scenario.id, { run, result, rssBytes: undefined, serverCpuUs });
          if (natsBefore !== undefined && natsAfter !== undefined) {
            const key = `${running.system.id}|${scenario.id}`;
            natsCpu.set(key, [...(natsCpu.get(key) ?? []), (natsAfter - natsBefore) / 1000 / result.calls]);
          }
          progress(describe(running.system.id, scenario.id, result));
        } catch (error) {
          // Its client may still be mid-scenario: leave the system out for the rest of this run.
          fail(running.system.id, error, figures, failures, progress);
          live.splice(live.indexOf(running), 1);
          await Promise.all([running.client.stop(), running.server.stop()]);
        }
      }
    }
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

function fail(system: string, error: unknown, figures: Figures, failures: string[], progress: (line: string) => void): void {
  const message = error instanceof Error ? error.message : String(error);
  figures.fail(system, message);
  failures.push(`${system}: ${message}`);
  progress(`nats: ${system} FAILED: ${message}`);
}

function describe(system: string, scenario: string, result: LoadResult): string {
  return (
    `nats: ${system.padEnd(15)} ${scenario.padEnd(10)} ${Math.round(result.callsPerSec).toLocaleString("en-US").padStart(9)} calls/s` +
    `  p50 ${result.p50Us.toFixed(1)} µs  p99 ${result.p99Us.toFixed(1)} µs` +
    (result.errors > 0 ? `  ${result.errors} ERRORS` : "") +
    (result.truncated ? `  (time cap: ${result.calls} calls)` : "")
  );
}

const callsPerSec = (sample: Sample): number => sample.result.callsPerSec;
const p50 = (sample: Sample): number => sample.result.p50Us;
const p99 = (sample: Sample): number => sample.result.p99Us;

/**
 * The targets of Amoeba on NATS, each a ratio taken within a run (the
 * systems measured side by side), then the median over runs.
 */
export function evaluateNatsGoals(figures: Figures): GoalOutcome[] {
  const outcomes: GoalOutcome[] = [];
  const check = (target: string, measured: string, value: number, pass: (value: number) => boolean): void => {
    outcomes.push({ target, measured, status: Number.isFinite(value) ? (pass(value) ? "met" : "missed") : "n/a" });
  };
  const vsNatsjs = figures.ratioByRun("amoeba-nats", "natsjs-request", "small-c64", callsPerSec);
  check("amoeba on NATS c=64 small calls/s ≥ 3× nats.js request()", `${times(vsNatsjs)} nats.js`, vsNatsjs, (r) => r >= 3);
  const p50VsNatsjs = figures.ratioByRun("amoeba-nats", "natsjs-request", "small-c1", p50);
  check(
    "amoeba on NATS c=1 small p50 ≤ 1.0× nats.js request()'s",
    `${micros(figures.get("amoeba-nats", "small-c1")?.p50Us)} µs vs ${micros(figures.get("natsjs-request", "small-c1")?.p50Us)} µs: ${times(p50VsNatsjs)}`,
    p50VsNatsjs,
    (r) => r <= 1,
  );
  const vsMoleculer = figures.ratioByRun("amoeba-nats", "moleculer-nats", "small-c64", callsPerSec);
  check("amoeba on NATS c=64 small calls/s ≥ 1.5× moleculer on NATS", `${times(vsMoleculer)} moleculer`, vsMoleculer, (r) => r >= 1.5);
  for (const scenario of NATS_SCENARIOS) {
    const amoeba = figures.get("amoeba-nats", scenario.id)?.p99Us;
    const natsjs = figures.get("natsjs-request", scenario.id)?.p99Us;
    const moleculer = figures.get("moleculer-nats", scenario.id)?.p99Us;
    // Below both: the larger of the two per-run ratios must stay under 1.
    const worst = Math.max(figures.ratioByRun("amoeba-nats", "natsjs-request", scenario.id, p99), figures.ratioByRun("amoeba-nats", "moleculer-nats", scenario.id, p99));
    check(
      `amoeba on NATS ${scenario.id} p99 below nats.js's and moleculer's`,
      `${micros(amoeba)} µs vs nats.js ${micros(natsjs)}, moleculer ${micros(moleculer)}; per run vs the lower: ${times(worst)}`,
      worst,
      (r) => r < 1,
    );
  }
  return outcomes;
}

const COLUMNS: Column[] = [
  { title: "system", align: "left" },
  { title: "calls/s", align: "right" },
  { title: "÷ nats.js", align: "right" },
  { title: "÷ mol.", align: "right" },
  { title: "p50 µs", align: "right" },
  { title: "p99 µs", align: "right" },
  { title: "CPU µs/call srv", align: "right" },
  { title: "cli", align: "right" },
  { title: "nats-server", align: "right" },
  { title: "note", align: "left" },
];

/** One table per scenario, then how it was measured. */
export function renderNats(report: NatsReport): string {
  if (report.systems.length === 0) return `NATS comparison: not run (${report.failures.join("; ")})`;
  const tables = NATS_SCENARIOS.map((scenario) => {
    const natsjs = report.systems.find((s) => s.id === "natsjs-request")?.figures[scenario.id];
    const moleculer = report.systems.find((s) => s.id === "moleculer-nats")?.figures[scenario.id];
    const rows = report.systems.map((system) => {
      const figure = system.figures[scenario.id];
      if (!figure) return [system.label, "–", "", "", "", "", "", "", "", "failed (see below)"];
      const notes: string[] = [];
      if (figure.errors > 0) notes.push(`${figure.errors} errors`);
      if (figure.truncated > 0) notes.push(`time cap hit in ${figure.truncated}/${figure.runs} runs`);
      const clientCpu = median(report.systems.find((s) => s.id === system.id)!.samples[scenario.id]!.map((sample) => sample.result.clientCpuUs));
      return [
        system.label,
        count(figure.callsPerSec),
        times(ratio(figure.callsPerSec, natsjs?.callsPerSec)),
        times(ratio(figure.callsPerSec, moleculer?.callsPerSec)),
        micros(figure.p50Us),
        micros(figure.p99Us),
        micros(figure.serverCpuUs),
        micros(clientCpu),
        micros(system.natsServerCpuUs[scenario.id]),
        notes.join("; "),
      ];
    });
    return `NATS: ${scenario.label}\n${renderTable(COLUMNS, rows)}`;
  });
  const load = (values: number[]): string => values.map((value) => value.toFixed(2)).join(" ");
  return [
    ...tables,
    "",
    `One ${report.natsServer} on 127.0.0.1 for all; each server and client its own process; median of ${report.runs} run(s).`,
    `Load average at the start ${load(report.loadAverage.start)}, at the end ${load(report.loadAverage.end)}.`,
    "amoeba: node.client() found by look-up over NATS, default p2c: straight to the instance; queue group: strategy random, so NATS",
    "picks the instance; nats.js: @nats-io/transport-node request() with default options to a",
    "queue-subscribed responder, JSON; moleculer 0.14: NATS transporter (nats v2 client), its own balancer, validated params.",
    "CPU µs/call: the system's server process, its load client, and the nats-server, over the measured calls.",
    ...report.failures.map((failure) => `FAILED: ${failure}`),
  ].join("\n");
}
