import { loadavg } from "node:os";
import { Child } from "../lib/children.ts";
import type { BenchConfig } from "../lib/config.ts";
import { count, micros, times } from "../lib/format.ts";
import type { LoadPlan } from "../lib/load.ts";
import { median } from "../lib/stats.ts";
import { renderTable, type Column } from "../lib/table.ts";
import { expectMessage, type TracedPhase } from "./protocol.ts";
import type { TracedCallerArgument } from "./traced-caller.ts";
import { TRACE_VARIANTS, type TraceVariant } from "./variants.ts";

const here = (file: string): URL => new URL(`./${file}`, import.meta.url);
// Start-up under tsx on a busy machine, and the slack over each phase's own time cap.
const START_TIMEOUT = 45_000;
const SLACK = 30_000;

/** The tracing bench's figures, as written to latest.json. */
export interface ObserveReport {
  rounds: number;
  load: LoadPlan;
  loadAverage: { start: number[]; end: number[] };
  phases: TracedPhase[];
  elapsedMs: number;
}

/**
 * The cost of tracing on the fast path: a server per variant (tracing off;
 * off with a `traceparent` on every call; the recent-calls ring; spans through
 * an OpenTelemetry SDK) and one caller whose connection to each traces the
 * same way; small `{a,b}→sum` calls at c=64, the variants taking turns each
 * round.
 */
export async function runObserveBench(config: BenchConfig, progress: (line: string) => void): Promise<ObserveReport> {
  const started = Date.now();
  const start = loadavg();
  const rounds = config.quick ? 3 : 9;
  const load: LoadPlan = config.quick
    ? { concurrency: 64, calls: 10_000, warmupCalls: 8_000, warmupMs: 1_000, maxMs: 1_000 }
    : { concurrency: 64, calls: 30_000, warmupCalls: 20_000, warmupMs: 2_500, maxMs: 2_000 };
  const children: Child[] = [];
  try {
    const addresses = {} as Record<TraceVariant, string>;
    const pids = {} as Record<TraceVariant, number>;
    for (const variant of TRACE_VARIANTS) {
      const server = new Child(`traced server (${variant})`, here("traced-server.ts"), { variant });
      children.push(server);
      addresses[variant] = (await server.expect("ready", START_TIMEOUT)).address;
      pids[variant] = server.pid;
    }
    const argument: TracedCallerArgument = { addresses, pids, rounds, load };
    const caller = new Child("traced caller", here("traced-caller.ts"), argument);
    children.unshift(caller);
    const phases: TracedPhase[] = [];
    let timeout = START_TIMEOUT + TRACE_VARIANTS.length * load.warmupMs + load.maxMs + SLACK;
    for (let i = 0; i < rounds * TRACE_VARIANTS.length; i++) {
      const { phase } = await expectMessage(caller, "traced-phase", timeout);
      timeout = load.maxMs + SLACK;
      phases.push(phase);
      const { result } = phase;
      progress(
        `tracing round ${phase.round + 1} ${phase.variant.padEnd(6)} ${count(result.callsPerSec).padStart(7)} calls/s` +
          `  p50 ${micros(result.p50Us)} µs  p99 ${micros(result.p99Us)} µs  CPU µs/call: client ${micros(result.clientCpuUs)}, server ${micros(phase.serverCpuUs)}` +
          (result.errors > 0 ? `  ${result.errors} ERRORS` : ""),
      );
    }
    await expectMessage(caller, "traced-done", SLACK);
    return { rounds, load, loadAverage: { start, end: loadavg() }, phases, elapsedMs: Date.now() - started };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

/** A variant's figure ÷ "off" within each round (measured back to back), the median over rounds. */
function ratioToOff(phases: readonly TracedPhase[], variant: TraceVariant, figure: (phase: TracedPhase) => number): number {
  const ratios: number[] = [];
  for (const mine of phases.filter((phase) => phase.variant === variant)) {
    const off = phases.find((phase) => phase.variant === "off" && phase.round === mine.round);
    if (off) ratios.push(figure(mine) / figure(off));
  }
  return median(ratios);
}

/** The table: per variant, medians over rounds, and ratios to tracing off. */
export function renderObserve(report: ObserveReport): string {
  const columns: Column[] = [
    { title: "tracing", align: "left" },
    { title: "calls/s", align: "right" },
    { title: "÷ off", align: "right" },
    { title: "p50 µs", align: "right" },
    { title: "p99 µs", align: "right" },
    { title: "client CPU µs/call", align: "right" },
    { title: "÷ off", align: "right" },
    { title: "server CPU µs/call", align: "right" },
    { title: "÷ off", align: "right" },
  ];
  const labels: Record<TraceVariant, string> = {
    off: "off",
    passthrough: "off, a traceparent passed on",
    recent: "recent-calls ring (500)",
    otel: "OpenTelemetry SDK spans",
  };
  const rows = TRACE_VARIANTS.map((variant) => {
    const mine = report.phases.filter((phase) => phase.variant === variant);
    const of = (figure: (phase: TracedPhase) => number): number => median(mine.map(figure));
    const errors = mine.reduce((sum, phase) => sum + phase.result.errors, 0);
    return [
      labels[variant] + (errors > 0 ? ` (${errors} errors)` : ""),
      count(of((phase) => phase.result.callsPerSec)),
      times(ratioToOff(report.phases, variant, (phase) => phase.result.callsPerSec)),
      micros(of((phase) => phase.result.p50Us)),
      micros(of((phase) => phase.result.p99Us)),
      micros(of((phase) => phase.result.clientCpuUs)),
      times(ratioToOff(report.phases, variant, (phase) => phase.result.clientCpuUs)),
      micros(of((phase) => phase.serverCpuUs)),
      times(ratioToOff(report.phases, variant, (phase) => phase.serverCpuUs)),
    ];
  });
  const load = (values: number[]): string => values.map((value) => value.toFixed(2)).join(" ");
  return (
    `Tracing on the fast path (${(report.elapsedMs / 1000).toFixed(0)} s; c=${report.load.concurrency}, small calls over TCP, ` +
    `${report.rounds} rounds; load average ${load(report.loadAverage.start)} at its start, ${load(report.loadAverage.end)} at its end)\n` +
    `${renderTable(columns, rows)}\n` +
    "Both ends of each call trace alike; ratios are within each round, then the median over rounds."
  );
}
