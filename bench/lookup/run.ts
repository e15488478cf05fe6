/**
 * The look-up scale benchmark.
 *
 *   node --import tsx bench/lookup/run.ts [--quick] [--seed N] [--only real|sim]
 *        [--sizes 8,16,32,64] [--sim-sizes 100,300,1000,10000] [--window S] [--tsx] [--services N]
 *
 * Real processes (8, 16, 32, 64; `--quick`: 8 and 16): service visibility, failure
 * detection and gossip bytes per node per second with default membership
 * settings. Simulated (the same membership code on a simulated clock and
 * network, deterministic by seed; 100 and 300 nodes form by joins, 1,000 and
 * 10,000 start formed and measure one newcomer's join): convergence, failure
 * detection, traffic against N, with 5 % loss and with a partition healed. Prints tables and writes
 * bench/results/lookup-latest.json. Every child is killed at the end, also on
 * error or Ctrl-C; every wait is bounded.
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_MEMBERSHIP_CONFIG, detectionBound, suspicionBounds } from "../../src/lookup/membership/index.ts";
import { useBuiltPackage } from "../lib/built-package.ts";
import { killEverything, prepareMemberRuntime } from "./processes.ts";
import { runReal, type RealResult } from "./real.ts";
import { goalLines, logSeries, realTable, simTable, type Goal } from "./report.ts";
import { runSimSeries, SIM_WALL_LIMIT_MS } from "./sim-series.ts";

interface Options {
  quick: boolean;
  seed: number;
  only: "real" | "sim" | null;
  sizes: number[];
  simSizes: number[];
  windowMs: number;
  tsx: boolean;
  /** Background services the real member that later serves one more holds (`--services N`). */
  services: number;
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
    services: Number(value("--services") ?? 0),
  };
}

const resultsFile = fileURLToPath(new URL("../results/lookup-latest.json", import.meta.url));

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  useBuiltPackage(log);
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
      log(`\n## Real processes (${options.sizes.join(", ")}), steady window ${options.windowMs / 1000} s${options.services ? `, ${options.services} services on the member that serves one more` : ""}`);
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
            services: options.services,
          }),
        );
      }
    }
    const sim = options.only === "real" ? [] : (log(`\n## Simulation (${options.simSizes.join(", ")}), seed ${options.seed}`), await runSimSeries(options.simSizes, options.seed, log));

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
      const completed = sim.filter((row) => row.status.startsWith("ok")).map((row) => row.n);
      const largest = completed.length > 0 ? Math.max(...completed) : null;
      for (const size of [1000, 10_000]) {
        const rows = sim.filter((row) => row.n === size);
        goals.push({
          name: `simulated ${size.toLocaleString("en")} nodes (join, failure, messages per node per second, with loss and a partition)`,
          met: rows.length === 0 ? null : rows.every((row) => row.status.startsWith("ok")),
          detail:
            rows.length === 0
              ? "not run"
              : rows
                  .map((row) => `loss ${row.loss * 100}%: ${row.status}, ${(row.wallMs / 1000).toFixed(0)} s wall, ${(row.cpuMs / 1000).toFixed(0)} s CPU, peak heap ${((row.result?.peakHeapBytes ?? 0) / 2 ** 30).toFixed(1)} GiB`)
                  .join("; ") + " (started from a formed view)",
        });
      }
      goals.push({
        name: "largest simulated world completed",
        met: largest === null ? false : null,
        detail: `${largest ?? "none"}; small worlds (joins) within ${SIM_WALL_LIMIT_MS / 1000} s wall each`,
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
