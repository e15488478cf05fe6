import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderBalance } from "./balance/report.ts";
import { runBalanceBench, type BalanceReport } from "./balance/run.ts";
import { renderEdge, runEdgeBench, type EdgeReport } from "./edge/run.ts";
import { renderEntity, runEntityBench, type EntityReport } from "./entity/run.ts";
import { renderNats, runNatsBench, type NatsReport } from "./nats/run.ts";
import { renderObserve, runObserveBench, type ObserveReport } from "./observe/run.ts";
import { renderRoute, runRouteBench, type RouteReport } from "./route/run.ts";
import { useBuiltPackage } from "./lib/built-package.ts";
import { killChildrenOnExit } from "./lib/children.ts";
import { readConfig } from "./lib/config.ts";
import { Figures } from "./lib/figures.ts";
import { evaluateGoals, renderGoals } from "./lib/goals.ts";
import { benchRun } from "./lib/bench-run.ts";
import type { MicroResult, OverheadResult } from "./lib/messages.ts";
import { renderCpuSummary, renderMicro, renderOverhead, renderScenario } from "./lib/report.ts";
import { SCENARIOS as ALL_SCENARIOS } from "./lib/scenarios.ts";
import { measureMicro, measureOverhead } from "./lib/side-benches.ts";
import { SYSTEMS } from "./lib/systems.ts";

/**
 * `npm run bench`: every system side by side, servers and clients in their
 * own processes on 127.0.0.1 (or Unix sockets in a temp dir), then the
 * tables, the targets, and bench/results/latest.json.
 */
async function main(): Promise<void> {
  const config = readConfig(process.argv.slice(2));
  const tempDir = mkdtempSync(join(tmpdir(), "amoeba-bench-"));
  killChildrenOnExit(() => rmSync(tempDir, { recursive: true, force: true }));
  const scenarios = config.scenarios.length === 0 ? ALL_SCENARIOS : ALL_SCENARIOS.filter((scenario) => config.scenarios.includes(scenario.id));
  const wanted = (id: string): boolean => config.only.length === 0 || config.only.includes(id);
  const systems = SYSTEMS.filter((system) => wanted(system.id));
  const started = Date.now();
  const progress = (line: string): void => {
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  };
  useBuiltPackage(progress);

  console.log(
    `Amoeba bench — ${config.quick ? "QUICK: 1 run, fewer calls; rough figures" : `each figure the median of ${config.runs} runs`}\n` +
      `node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((load) => load.toFixed(2)).join(" ")}\n` +
      (systems.length === 0
        ? ""
        : `calls per scenario: ${config.callsC1.toLocaleString("en-US")} at c=1, ${config.callsC64.toLocaleString("en-US")} at c=64, ` +
          `after ${config.warmupCalls.toLocaleString("en-US")} warm-up calls; at most ${config.measureMs / 1000} s each\n`),
  );

  const figures = new Figures();
  const overhead: OverheadResult[] = [];
  for (let run = 0; run < config.runs && (systems.length > 0 || wanted("overhead")); run++) {
    progress(`run ${run + 1} of ${config.runs}`);
    if (systems.length > 0) await benchRun(run, systems, scenarios, config, tempDir, figures, progress);
    if (wanted("overhead")) {
      try {
        overhead.push(await measureOverhead(config));
      } catch (error) {
        progress(`in-process overhead: FAILED: ${(error as Error).message}`);
      }
    }
  }
  let micro: MicroResult[] = [];
  if (wanted("micro")) {
    try {
      micro = await measureMicro(config);
    } catch (error) {
      progress(`wire micro-benchmark: FAILED: ${(error as Error).message}`);
    }
  }
  // Client-side balancing: its own processes, after the comparison so the two never share the machine.
  let balance: BalanceReport | null = null;
  if (wanted("balance")) {
    try {
      balance = await runBalanceBench(config, progress);
    } catch (error) {
      progress(`balancing: FAILED: ${(error as Error).message}`);
    }
  }
  // The HTTP edge against plain node:http and fastify: its own processes too.
  let edge: EdgeReport | null = null;
  if (wanted("edge")) {
    try {
      edge = await runEdgeBench(config, progress);
    } catch (error) {
      progress(`edge: FAILED: ${(error as Error).message}`);
    }
  }
  // Amoeba on NATS against nats.js and moleculer on one nats-server: its own processes too.
  let natsReport: NatsReport | null = null;
  if (wanted("nats")) {
    try {
      natsReport = await runNatsBench(config, progress);
    } catch (error) {
      progress(`nats: FAILED: ${(error as Error).message}`);
    }
  }

  // The cost of tracing: its own processes too.
  let observe: ObserveReport | null = null;
  if (wanted("observe")) {
    try {
      observe = await runObserveBench(config, progress);
    } catch (error) {
      progress(`tracing: FAILED: ${(error as Error).message}`);
    }
  }

  // The cost of one gateway hop: its own processes too.
  let route: RouteReport | null = null;
  if (wanted("route")) {
    try {
      route = await runRouteBench(config, progress);
    } catch (error) {
      progress(`gateway hop: FAILED: ${(error as Error).message}`);
    }
  }

  // Entity calls against plain ones on the same nodes, and a hand-off: its own processes too.
  let entity: EntityReport | null = null;
  if (wanted("entity")) {
    try {
      entity = await runEntityBench(config, progress);
    } catch (error) {
      progress(`entities: FAILED: ${(error as Error).message}`);
    }
  }

  if (systems.length > 0) {
    for (const scenario of scenarios) console.log(`${renderScenario(figures, systems, scenario)}\n`);
    console.log(
      "calls/s ratios: this system ÷ raw, ÷ grpc-js, ÷ moleculer; p50/p99 ratios: this ÷ raw (lower is better).\n" +
        "RSS: the server process's peak resident set while the scenario ran (every process has tsx's loader for the harness).\n" +
        "CPU µs/call: CPU time (all threads) per call of the server process, and of server plus client;\n" +
        "  it moves much less than calls/s and latency when other work shares the machine.\n" +
        "Amoeba runs from dist/, built when the bench starts: what an installed package runs.\n",
    );
  }
  if (overhead.length > 0) console.log(`${renderOverhead(overhead)}\n`);
  if (micro.length > 0) console.log(`${renderMicro(micro)}\n`);
  if (balance) console.log(`${renderBalance(balance)}\n`);
  if (edge) console.log(`${renderEdge(edge)}\n`);
  if (natsReport) console.log(`${renderNats(natsReport)}\n`);
  if (observe) console.log(`${renderObserve(observe)}\n`);
  if (route) console.log(`${renderRoute(route)}\n`);
  if (entity) console.log(`${renderEntity(entity)}\n`);
  for (const [system, messages] of figures.failures) console.log(`${system} FAILED: ${messages.join(" | ")}`);

  // The comparison's targets when any of it ran, then the balancing ones.
  const goals = [...(systems.length > 0 || overhead.length > 0 ? evaluateGoals(figures, overhead) : []), ...(route?.goals ?? []), ...(balance?.goals ?? []), ...(edge?.goals ?? []), ...(natsReport?.goals ?? []), ...(entity?.goals ?? [])];
  if (goals.length > 0) console.log(`Targets (ratios within this run${config.quick ? "; quick mode, rough" : ""}):\n${renderGoals(goals)}\n`);
  if (systems.length > 0) console.log(renderCpuSummary(figures, scenarios));

  const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadAverage: loadavg(),
    config,
    scenarios,
    systems: systems.map(({ id, label }) => ({
      id,
      label,
      figures: Object.fromEntries(scenarios.map((scenario) => [scenario.id, figures.get(id, scenario.id) ?? null])),
      samples: Object.fromEntries(scenarios.map((scenario) => [scenario.id, figures.samples(id, scenario.id)])),
      failures: figures.failures.get(id) ?? [],
    })),
    inProcessOverhead: overhead,
    wireMicro: micro,
    balance,
    edge,
    nats: natsReport,
    observe,
    route,
    entity,
    goals,
  };
  writeFileSync(join(resultsDir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote bench/results/latest.json in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
