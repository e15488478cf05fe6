/**
 * The look-up scale benchmark.
 *
 *   node --import tsx bench/lookup/run.ts [--quick] [--seed N] [--only real|sim]
 *        [--sizes 8,16,32,64] [--sim-sizes 100,300,1000,10000] [--window S] [--tsx]
 *
 * Real processes (8, 16, 32, 64; `--quick`: 8 and 16): service visibility, failure
 * detection and gossip bytes per node per second with default membership
 * settings. Simulated (the same membership code on a simulated clock and
 * network, deterministic by seed): convergence after joins, traffic against N,
 * with 5 % loss and with a partition healed. Prints tables and writes
 * bench/results/lookup-latest.json. Every child is killed at the end, also on
 * error or Ctrl-C; every wait is bounded.
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_MEMBERSHIP_CONFIG, detectionBound, suspicionBounds } from "../../src/lookup/membership/index.ts";
import { forkTracked, killEverything, prepareMemberRuntime } from "./processes.ts";
import { runReal, type RealResult } from "./real.ts";
import { goalLines, logSeries, realTable, simTable, type Goal, type SimRow } from "./report.ts";
import type { SimChildMessage } from "./sim-child.ts";
import type { SimWorldOptions } from "./sim.ts";

interface Options {
  quick: boolean;
  seed: number;
  only: "real" | "sim" | null;
  sizes: number[];
  simSizes: number[];
  windowMs: number;
  tsx: boolean;
}

function parseArgs(argv: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (text: string | undefined): number[] | undefined =>
    text?.split(",").map((part) => {
      const n = Number(part);
      if (!Number.isInteger(n) || n < 2) throw new RangeError(`"${part}" is not a cluster size ≥ 2`);
      return n;
    });
  const quick = argv.includes("--quick");
  const only = value("--only");
  if (only !== undefined && only !== "real" && only !== "sim") throw new RangeError(`--only takes real or sim, not "${only}"`);
  const seedText = value("--seed");
  // Not Math.random: the seed is printed so that any run can be replayed.
  const seed = seedText === undefined ? Date.now() % 1_000_000 : Number(seedText);
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`--seed takes an integer ≥ 0`);
  return {
    quick,
    seed,
    only: only ?? null,
    sizes: list(value("--sizes")) ?? (quick ? [8, 16] : [8, 16, 32, 64]),
    simSizes: list(value("--sim-sizes")) ?? (quick ? [100] : [100, 300, 1000, 10_000]),
    windowMs: Number(value("--window") ?? (quick ? 15 : 30)) * 1000,
    tsx: argv.includes("--tsx"),
  };
}

const here = fileURLToPath(new URL(".", import.meta.url));
const resultsFile = fileURLToPath(new URL("../results/lookup-latest.json", import.meta.url));

// A world that does not finish in this much wall time is cut short and reported
// as such: "runs in < 2 min" is the bar for a size. N = 1000 is always measured
// to the end (within a larger bound), to show what it costs.
const SIM_WALL_LIMIT_MS = 120_000;
const SIM_WALL_LIMIT_1000_MS = 480_000;
// A partition healed at 1000+ nodes costs more than joins and crash together (every
// node re-learns half the cluster): only the smaller sizes run it.
const SIM_PARTITION_MAX_N = 300;

/** Runs one simulated world in its own process (bigger heap), killed if it overruns. */
function runWorld(options: SimWorldOptions): Promise<{ message: SimChildMessage | null; wallMs: number }> {
  const started = performance.now();
  // Heap for the views: every node holds every other one.
  const heapMb = Math.min(16_384, Math.max(2048, Math.round(totalmem() / 1024 / 1024 / 2)));
  const child = forkTracked(join(here, "sim-child.ts"), [JSON.stringify(options)], ["--import", "tsx", `--max-old-space-size=${heapMb}`]);
  return new Promise((resolve) => {
    let message: SimChildMessage | null = null;
    const timer = setTimeout(() => child.kill("SIGKILL"), options.wallLimitMs + 60_000);
    child.on("message", (m: SimChildMessage) => (message = m));
    child.on("exit", () => {
      clearTimeout(timer);
      resolve({ message, wallMs: performance.now() - started });
    });
  });
}

/** What a world must show; a failure names its seed for the replay. */
function checkWorld(row: SimRow, seed: number): string {
  const r = row.result!;
  const stopped = [r.join.stopped, r.crash?.stopped, r.heal?.stopped].filter(Boolean);
  const failures: string[] = [];
  if (!r.join.stopped && r.join.times.missing > 0) failures.push("not converged after joins");
  if (r.crash && !r.crash.stopped && r.crash.times.missing > 0) failures.push("crash not detected everywhere");
  if (r.heal && !r.heal.stopped && r.heal.times.missing > 0) failures.push("partition not healed");
  if (r.loss === 0 && r.falseDeaths > 0) failures.push(`${r.falseDeaths} false deaths without loss`);
  if (failures.length > 0) return `FAILED: ${failures.join(", ")} (replay: --only sim --seed ${seed} --sim-sizes ${r.n})`;
  if (stopped.length > 0) return `stopped: ${stopped.includes("wall budget") ? "wall budget" : "sim limit"}`;
  return r.wallMs > SIM_WALL_LIMIT_MS ? "ok (over 2 min)" : "ok";
}

async function runSim(options: Options, log: (line: string) => void): Promise<SimRow[]> {
  const rows: SimRow[] = [];
  let previous: { n: number; cpuMs: number; heap: number } | null = null;
  for (const n of options.simSizes) {
    if (previous) {
      // Cost grows with N²: N nodes, each walking its view of N members every gossip
      // round and holding N entries. Don't start what cannot finish.
      const scale = (n / previous.n) ** 2;
      const predictedCpu = previous.cpuMs * scale;
      const predictedHeap = previous.heap * scale;
      if (n !== 1000 && (predictedCpu > 4 * SIM_WALL_LIMIT_MS || predictedHeap > totalmem() * 0.6)) {
        const status = `skipped: predicted ~${Math.round(predictedCpu / 60_000)} min CPU and ~${(predictedHeap / 2 ** 30).toFixed(0)} GiB heap per world (∝ N² from N=${previous.n})`;
        log(`  sim n=${n}: ${status}`);
        for (const loss of [0, 0.05]) rows.push({ n, loss, seed: options.seed, cpuMs: 0, wallMs: 0, status });
        continue;
      }
    }
    const wallLimitMs = n === 1000 ? SIM_WALL_LIMIT_1000_MS : SIM_WALL_LIMIT_MS;
    const base = { n, seed: options.seed, joinSpreadMs: 10_000, steadyMs: 120_000, phaseLimitMs: 300_000, wallLimitMs };
    const worlds: SimWorldOptions[] = [
      { ...base, loss: 0, partitionMs: n <= SIM_PARTITION_MAX_N ? 60_000 : 0 },
      { ...base, loss: 0.05, partitionMs: 0 },
    ];
    log(`  sim n=${n}: two worlds (no loss${n <= SIM_PARTITION_MAX_N ? " + partition healed" : ""}; 5% loss), seed ${options.seed}, wall bound ${wallLimitMs / 1000} s …`);
    // The two worlds run side by side: one process each, two cores.
    const outcomes = await Promise.all(worlds.map((world) => runWorld(world)));
    let worst = { cpuMs: 0, heap: 0 };
    outcomes.forEach((outcome, i) => {
      const world = worlds[i]!;
      const row: SimRow = { n, loss: world.loss, seed: options.seed, cpuMs: 0, wallMs: outcome.wallMs, status: "" };
      if (outcome.message?.type === "result") {
        row.result = outcome.message.result;
        row.cpuMs = outcome.message.cpuMs;
        row.status = checkWorld(row, options.seed);
        worst = { cpuMs: Math.max(worst.cpuMs, row.cpuMs), heap: Math.max(worst.heap, row.result.peakHeapBytes) };
      } else {
        row.status = outcome.message?.type === "error" ? `error: ${outcome.message.message.split("\n")[0]}` : "killed: no result in time";
        worst = { cpuMs: Number.POSITIVE_INFINITY, heap: Number.POSITIVE_INFINITY };
      }
      log(`  sim n=${n} loss ${world.loss * 100}%: ${row.status} (${(row.wallMs / 1000).toFixed(0)} s wall)`);
      rows.push(row);
    });
    previous = { n, ...worst };
  }
  return rows;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const work = await mkdtemp(join(tmpdir(), "amoeba-lookup-bench-"));
  const cleanup = (): void => {
    killEverything();
  };
  process.on("exit", cleanup);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nlookup bench: ${signal}, killing every child process\n`);
      cleanup();
      rm(work, { recursive: true, force: true }).finally(() => process.exit(130));
    });
  }
  const started = performance.now();
  log(`Amoeba look-up scale bench — seed ${options.seed}${options.quick ? " (quick)" : ""}`);
  log(`machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  const config = DEFAULT_MEMBERSHIP_CONFIG;
  log(
    `membership defaults: probe every ${config.probeInterval} ms, gossip every ${config.gossipInterval} ms to ${config.gossipNodes}, ` +
      `push-pull every ${config.pushPullInterval / 1000} s; shortest suspicion at N=8/64: ${suspicionBounds(config, 8).min / 1000} s / ${(suspicionBounds(config, 64).min / 1000).toFixed(1)} s`,
  );

  const real: RealResult[] = [];
  let runtimeHow = "";
  try {
    if (options.only !== "sim") {
      log(`\n## Real processes (${options.sizes.join(", ")}), steady window ${options.windowMs / 1000} s`);
      const runtime = await prepareMemberRuntime(join(work, "build"), options.tsx);
      runtimeHow = runtime.how;
      log(`  members run as ${runtime.how}`);
      // Explicit seeds are passed, but a node still leaves a rendezvous file: keep those in our folder.
      const env = { ...process.env, AMOEBA_RENDEZVOUS_DIR: join(work, "rendezvous") };
      for (const n of options.sizes) {
        real.push(
          await runReal({
            n,
            runtime,
            batch: 8,
            windowMs: options.windowMs,
            visibleLimitMs: 15_000,
            deadLimitMs: 60_000,
            env,
            log,
          }),
        );
      }
    }
    const sim = options.only === "real" ? [] : (log(`\n## Simulation (${options.simSizes.join(", ")}), seed ${options.seed}`), await runSim(options, log));

    // ---- report ---------------------------------------------------------------
    const goals: Goal[] = [];
    let realBytes: ReturnType<typeof logSeries> | null = null;
    if (real.length > 0) {
      log(`\n## Real processes — default membership settings, 127.0.0.1 (members: ${runtimeHow})`);
      log(realTable(real));
      realBytes = logSeries(
        "B/node/s",
        real.map((r) => ({
          n: r.n,
          value: r.window.rate.bytes,
          parts: { probe: r.window.rate.bytesByKind.probe, gossip: r.window.rate.bytesByKind.gossip, "push-pull": r.window.rate.bytesByKind["push-pull"] },
        })),
      );
      log(`\nGossip bytes sent per node per second (steady window, ${options.windowMs / 1000} s):`);
      log(realBytes.table);
      // Push-pull runs every 30 s or more per node, at a random phase: one window
      // catches it unevenly, so the series without it is shown as well.
      const withoutPushPull = logSeries(
        "B/node/s",
        real.map((r) => ({ n: r.n, value: r.window.rate.bytes - r.window.rate.bytesByKind["push-pull"] })),
      );
      log(`\nThe same without push-pull (probes and gossip rounds only):`);
      log(withoutPushPull.table);
      goals.push({
        name: "probe + gossip bytes per node per second grow no faster than log N",
        met: real.length < 2 ? null : withoutPushPull.worst <= 1.25,
        detail: `worst growth ÷ log-N growth ${withoutPushPull.worst.toFixed(2)}`,
      });
      const worstJoin = Math.max(...real.map((r) => r.join.p50));
      const worstDead = Math.max(...real.map((r) => (r.dead.missing > 0 ? Number.POSITIVE_INFINITY : r.dead.max)));
      goals.push({
        name: "new service visible everywhere ≤ 1 s (median over nodes)",
        met: real.every((r) => r.join.missing === 0 && r.join.p50 <= 1000),
        detail: real.map((r) => `N=${r.n} ${r.join.p50.toFixed(0)} ms`).join(", ") + ` (worst ${worstJoin.toFixed(0)} ms)`,
      });
      goals.push({
        name: "kill -9 detected everywhere ≤ 5 s (last node)",
        met: worstDead <= 5000,
        detail:
          real.map((r) => `N=${r.n} ${r.dead.missing > 0 ? `${r.dead.missing} never` : `${(r.dead.max / 1000).toFixed(1)} s`}`).join(", ") +
          `; the shortest suspicion timeout alone is ${suspicionBounds(config, 8).min / 1000}–${(suspicionBounds(config, Math.max(...options.sizes)).min / 1000).toFixed(1)} s here (worst-case bound at N=${Math.max(...options.sizes)}: ${(detectionBound(config, Math.max(...options.sizes)) / 1000).toFixed(0)} s)`,
      });
      goals.push({
        name: "bytes per node per second grow no faster than log N",
        met: real.length < 2 ? null : realBytes.worst <= 1.25,
        detail: `worst growth ÷ log-N growth ${realBytes.worst.toFixed(2)} (≤ 1.25 passes: one steady window is noisy)`,
      });
    }
    let simMessages: ReturnType<typeof logSeries> | null = null;
    if (sim.length > 0) {
      log(`\n## Simulation — default settings, seed ${options.seed} (times are simulated; wall/cpu are real)`);
      log(simTable(sim));
      for (const loss of [0, 0.05]) {
        const points = sim
          .filter((row) => row.loss === loss && row.result && row.result.steady.simMs > 0)
          .map((row) => ({
            n: row.n,
            value: row.result!.steady.rate.messages,
            parts: { "B/node/s": row.result!.steady.rate.bytes, "push-pull B": row.result!.steady.rate.bytesByKind["push-pull"] },
          }));
        if (points.length === 0) continue;
        const series = logSeries("msgs/node/s", points);
        if (loss === 0) simMessages = series;
        log(`\nSimulated steady messages per node per second, loss ${loss * 100}%:`);
        log(series.table);
      }
      const completed = sim.filter((row) => row.status === "ok" && row.result!.wallMs <= SIM_WALL_LIMIT_MS).map((row) => row.n);
      const largest = completed.length > 0 ? Math.max(...completed) : null;
      goals.push({
        name: "simulated 10,000 nodes",
        met: options.simSizes.includes(10_000) ? sim.some((row) => row.n === 10_000 && row.status.startsWith("ok")) : null,
        detail: `largest world completed within ${SIM_WALL_LIMIT_MS / 1000} s wall: ${largest ?? "none"}; ${sim
          .filter((row) => row.status !== "ok")
          .map((row) => ({ ...row, status: row.status === "ok (over 2 min)" ? `ran in ${(row.result!.wallMs / 1000).toFixed(0)} s wall, ${(row.cpuMs / 1000).toFixed(0)} s CPU` : row.status }))
          .map((row) => `N=${row.n} loss ${row.loss * 100}%: ${row.status}`)
          .join("; ") || "all ran"}`,
      });
      goals.push({
        name: "simulated runs pass their checks (convergence, detection, heal, no false deaths without loss)",
        met: !sim.some((row) => row.status.startsWith("FAILED") || row.status.startsWith("error")),
        detail: sim.filter((row) => row.status.startsWith("FAILED")).map((row) => row.status).join("; ") || `seed ${options.seed}`,
      });
      if (simMessages && simMessages.worst) {
        goals.push({
          name: "simulated messages per node per second grow no faster than log N",
          met: Number.isFinite(simMessages.worst) ? simMessages.worst <= 1.25 : null,
          detail: `worst growth ÷ log-N growth ${simMessages.worst.toFixed(2)}`,
        });
      }
    }
    log(`\n## Targets`);
    log(goalLines(goals));
    const seconds = (performance.now() - started) / 1000;
    log(`\nseed ${options.seed} (replay the simulation: node --import tsx bench/lookup/run.ts --only sim --seed ${options.seed}); ${seconds.toFixed(0)} s in all`);
    await mkdir(join(resultsFile, ".."), { recursive: true });
    await writeFile(
      resultsFile,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          seed: options.seed,
          options,
          machine: { cores: cpus().length, memoryBytes: totalmem(), loadAverage: loadavg(), node: process.version },
          membershipConfig: config,
          memberRuntime: runtimeHow,
          real,
          sim,
          goals,
          seconds,
        },
        null,
        1,
      ),
    );
    log(`results: ${resultsFile}`);
  } finally {
    cleanup();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`lookup bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  killEverything();
  process.exitCode = 1;
});
