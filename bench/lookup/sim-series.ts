/** The simulated series of the look-up bench: one child process per world, bounded in wall time. */
import { totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { forkTracked } from "./processes.ts";
import type { SimRow } from "./report.ts";
import type { SimChildMessage } from "./sim-child.ts";
import type { SimWorldOptions } from "./sim.ts";

const here = fileURLToPath(new URL(".", import.meta.url));

// A world that does not finish in this much wall time is cut short and reported
// as such: "runs in < 2 min" is the bar for a size. N = 1000 is always measured
// to the end (within a larger bound), to show what it costs.
export const SIM_WALL_LIMIT_MS = 120_000;
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

/**
 * Runs the simulated series: for each size, a world without loss (a crash, and a
 * partition healed at the smaller sizes) and one with 5 % loss (a crash), side by
 * side. A size predicted to take far too long or too much memory is skipped, with why.
 */
export async function runSimSeries(sizes: readonly number[], seed: number, log: (line: string) => void): Promise<SimRow[]> {
  const rows: SimRow[] = [];
  let previous: { n: number; cpuMs: number; heap: number } | null = null;
  for (const n of sizes) {
    if (previous) {
      // Cost grows with N²: N nodes, each walking its view of N members every gossip
      // round and holding N entries. Don't start what cannot finish.
      const scale = (n / previous.n) ** 2;
      const predictedCpu = previous.cpuMs * scale;
      const predictedHeap = previous.heap * scale;
      if (n !== 1000 && (predictedCpu > 4 * SIM_WALL_LIMIT_MS || predictedHeap > totalmem() * 0.6)) {
        const status = `skipped: predicted ~${Math.round(predictedCpu / 60_000)} min CPU and ~${(predictedHeap / 2 ** 30).toFixed(0)} GiB heap per world (∝ N² from N=${previous.n})`;
        log(`  sim n=${n}: ${status}`);
        for (const loss of [0, 0.05]) rows.push({ n, loss, seed: seed, cpuMs: 0, wallMs: 0, status });
        continue;
      }
    }
    const wallLimitMs = n === 1000 ? SIM_WALL_LIMIT_1000_MS : SIM_WALL_LIMIT_MS;
    const base = { n, seed: seed, joinSpreadMs: 10_000, steadyMs: 120_000, phaseLimitMs: 300_000, wallLimitMs };
    const worlds: SimWorldOptions[] = [
      { ...base, loss: 0, partitionMs: n <= SIM_PARTITION_MAX_N ? 60_000 : 0 },
      { ...base, loss: 0.05, partitionMs: 0 },
    ];
    log(`  sim n=${n}: two worlds (no loss${n <= SIM_PARTITION_MAX_N ? " + partition healed" : ""}; 5% loss), seed ${seed}, wall bound ${wallLimitMs / 1000} s …`);
    // The two worlds run side by side: one process each, two cores.
    const outcomes = await Promise.all(worlds.map((world) => runWorld(world)));
    let worst = { cpuMs: 0, heap: 0 };
    outcomes.forEach((outcome, i) => {
      const world = worlds[i]!;
      const row: SimRow = { n, loss: world.loss, seed: seed, cpuMs: 0, wallMs: outcome.wallMs, status: "" };
      if (outcome.message?.type === "result") {
        row.result = outcome.message.result;
        row.cpuMs = outcome.message.cpuMs;
        row.status = checkWorld(row, seed);
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
