import type { Figures } from "./figures.ts";
import { count, megabytes, micros, times } from "./format.ts";
import type { MicroResult, OverheadResult } from "./messages.ts";
import type { Scenario } from "./scenarios.ts";
import { median, ratio } from "./stats.ts";
import type { SystemSpec } from "./systems.ts";
import { renderTable, type Column } from "./table.ts";

const COLUMNS: Column[] = [
  { title: "system", align: "left" },
  { title: "calls/s", align: "right" },
  { title: "vs raw", align: "right" },
  { title: "vs grpc", align: "right" },
  { title: "vs mol.", align: "right" },
  { title: "p50 µs", align: "right" },
  { title: "p99 µs", align: "right" },
  { title: "p50/raw", align: "right" },
  { title: "p99/raw", align: "right" },
  { title: "RSS MB", align: "right" },
  { title: "CPU µs/call srv", align: "right" },
  { title: "srv+cli", align: "right" },
  { title: "note", align: "left" },
];

/**
 * One table per scenario: throughput with its ratio to the raw baseline and
 * to each peer (grpc-js, moleculer), latency percentiles with their ratio to
 * raw, the server's RSS under that load, and CPU time per call (server, and
 * server plus client), which noise from other work on the machine moves far
 * less than throughput.
 */
export function renderScenario(figures: Figures, systems: readonly SystemSpec[], scenario: Scenario): string {
  const rawTcp = figures.get("raw", scenario.id);
  // Unix sockets are measured against the raw baseline on a Unix socket.
  const rawUnix = figures.get("raw-unix", scenario.id) ?? rawTcp;
  const grpc = figures.get("grpc", scenario.id);
  const moleculer = figures.get("moleculer", scenario.id);
  const rows = systems.map((system) => {
    const figure = figures.get(system.id, scenario.id);
    if (!figure) return [system.label, "–", "", "", "", "", "", "", "", "", "", "", figures.failures.has(system.id) ? "failed (see above)" : "not run"];
    const notes: string[] = [];
    if (figure.errors > 0) notes.push(`${figure.errors} errors`);
    if (figure.truncated > 0) notes.push(`time cap hit in ${figure.truncated}/${figure.runs} runs`);
    if (system.id === "amoeba-inproc") notes.push("one process: client and server");
    if (system.id === "amoeba-unix" && rawUnix !== rawTcp) notes.push("÷ raw unix");
    const raw = system.id === "amoeba-unix" ? rawUnix : rawTcp;
    return [
      system.label,
      count(figure.callsPerSec),
      times(ratio(figure.callsPerSec, raw?.callsPerSec)),
      times(ratio(figure.callsPerSec, grpc?.callsPerSec)),
      times(ratio(figure.callsPerSec, moleculer?.callsPerSec)),
      micros(figure.p50Us),
      micros(figure.p99Us),
      times(ratio(figure.p50Us, raw?.p50Us)),
      times(ratio(figure.p99Us, raw?.p99Us)),
      megabytes(figure.rssBytes),
      micros(figure.serverCpuUs),
      micros(figure.totalCpuUs),
      notes.join("; "),
    ];
  });
  return `${scenario.label}\n${renderTable(COLUMNS, rows)}`;
}

/** The in-process call cost, each figure the median over runs. */
export function renderOverhead(runs: readonly OverheadResult[]): string {
  const direct = median(runs.map((run) => run.directUs));
  const on = median(runs.map((run) => run.validateOnUs));
  const off = median(runs.map((run) => run.validateOffUs));
  const intercepted = median(runs.map((run) => run.interceptedUs));
  const rows = [
    ["plain await handler(input)", micros3(direct), "–"],
    ["node.client(), input validation on", micros3(on), micros3(on - direct)],
    ["node.client(), validate: { input: false }", micros3(off), micros3(off - direct)],
    ["node.client(), validation on, one interceptor", micros3(intercepted), micros3(intercepted - direct)],
  ];
  const columns: Column[] = [
    { title: "in-process call (sequential, small)", align: "left" },
    { title: "µs/call", align: "right" },
    { title: "overhead µs", align: "right" },
  ];
  return renderTable(columns, rows);
}

/** The wire micro-benchmarks. */
export function renderMicro(results: readonly MicroResult[]): string {
  const columns: Column[] = [
    { title: "wire codec (src/wire/codec.ts)", align: "left" },
    { title: "ns/op", align: "right" },
  ];
  return renderTable(
    columns,
    results.map((result) => [result.name, result.nsPerOp.toFixed(0)]),
  );
}

function micros3(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : "–";
}

/**
 * Amoeba TCP's CPU cost per call against the others, per scenario: the
 * efficiency behind the throughput targets, steadier than calls/s when other
 * work shares the machine.
 */
export function renderCpuSummary(figures: Figures, scenarios: readonly Scenario[]): string {
  const lines = scenarios.map((scenario) => {
    const amoeba = figures.get("amoeba-tcp", scenario.id)?.totalCpuUs;
    const others = (["raw", "moleculer", "grpc"] as const).map((id) => {
      const cpu = figures.get(id, scenario.id)?.totalCpuUs;
      return `${id} ${micros(cpu)} (amoeba ${times(ratio(amoeba, cpu))})`;
    });
    return `  ${scenario.id.padEnd(10)} amoeba tcp ${micros(amoeba)} µs; ${others.join(", ")}`;
  });
  return `CPU µs per call, server + client:\n${lines.join("\n")}`;
}
