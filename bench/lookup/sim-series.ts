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
// as such: "runs in < 2 min" is the bar for the sizes that form by joins. The
// large sizes start formed and get more (creating 10,000 nodes that each know
// 10,000 members alone takes a few minutes, more on a machine shared with
// other work).
export const SIM_WALL_LIMIT_MS = 120_000;
const SIM_WALL_LIMIT_LARGE_MS = 3_600_000;
// From this size on a world starts formed (every node knowing every member):
// n joins cost n² record deliveries, which is the formation, not the protocol
// at steady size.
export const SIM_FORMED_FROM_N = 1000;
// Large worlds cut off a group of this many nodes; small ones cut two halves.
const SIM_PARTITION_GROUP = 20;

/** Runs one simulated world in its own process (bigger heap), killed if it overruns; progress lines go to `log`. */
function runWorld(options: SimWorldOptions, log: (line: string) => void): Promise<{ message: SimChildMessage | null; wallMs: number }> {
  const started = performance.now();
  // Heap for the views: the columns are off-heap typed arrays, the records shared.
  const heapMb = Math.min(16_384, Math.max(2048, Math.round(totalmem() / 1024 / 1024 / 2)));
  // A larger young generation: a simulation makes short-lived garbage (packets,
  // decoded entries) at a high rate, and each scavenge that promotes some of it
  // brings the next full collection (which walks every node's columns) closer.
  const child = forkTracked(join(here, "sim-child.ts"), [JSON.stringify(options)], [
    "--import",
    "tsx",
    `--max-old-space-size=${heapMb}`,
    "--max-semi-space-size=64",
  ]);
  return new Promise((resolve) => {
    let message: SimChildMessage | null = null;
    const timer = setTimeout(() => child.kill("SIGKILL"), options.wallLimitMs + 60_000);
    child.on("message", (m: SimChildMessage) => {
      if (m.type === "progress") log(`    ${m.line}`);
      else message = m;
    });
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
  if (!r.join.stopped && r.join.times.missing > 0) failures.push(r.start === "formed" ? "newcomer not seen by all" : "not converged after joins");
  if (r.start === "formed" && !r.join.stopped && r.newcomerSeesAllMs === null) failures.push("newcomer did not learn every member");
  if (r.crash && !r.crash.stopped && r.crash.times.missing > 0) failures.push("crash not detected everywhere");
  if (r.heal && !r.heal.stopped && r.heal.times.missing > 0) failures.push("partition not healed");
  if (r.loss === 0 && r.falseDeaths > 0) failures.push(`${r.falseDeaths} false deaths without loss`);
  if (failures.length > 0) return `FAILED: ${failures.join(", ")} (replay: --only sim --seed ${seed} --sim-sizes ${r.n})`;
  if (stopped.length > 0) return `stopped: ${stopped.includes("wall budget") ? "wall budget" : "sim limit"}`;
  return r.wallMs > SIM_WALL_LIMIT_MS ? `ok (${(r.wallMs / 60_000).toFixed(1)} min)` : "ok";
}

/**
 * Runs the simulated series: for each size, a world without loss (a crash, and a
 * partition healed) and one with 5 % loss (a crash). Up to 300
 * nodes the worlds form by joins and run side by side; from 1,000 they start
 * formed and measure one newcomer's join; worlds too large for two in memory
 * run one at a time. A size predicted to need more memory than the machine has is skipped.
 */
export async function runSimSeries(sizes: readonly number[], seed: number, log: (line: string) => void): Promise<SimRow[]> {
  const rows: SimRow[] = [];
  for (const n of sizes) {
    const formed = n >= SIM_FORMED_FROM_N;
    // ≈ 45 bytes per entry a node holds (n² entries), plus the records and the queues.
    const predictedBytes = formed ? 45 * n * n + 5000 * n : 2000 * n * n;
    if (predictedBytes > totalmem() * 0.6) {
      const status = `skipped: predicted ~${(predictedBytes / 2 ** 30).toFixed(0)} GiB per world`;
      log(`  sim n=${n}: ${status}`);
      for (const loss of [0, 0.05]) rows.push({ n, loss, seed, cpuMs: 0, wallMs: 0, status });
      continue;
    }
    const wallLimitMs = formed ? SIM_WALL_LIMIT_LARGE_MS : SIM_WALL_LIMIT_MS;
    const base = { n, seed, formed, joinSpreadMs: 10_000, steadyMs: formed ? 30_000 : 120_000, phaseLimitMs: 300_000, wallLimitMs };
    const partition = { partitionMs: 60_000, partitionGroup: formed ? SIM_PARTITION_GROUP : 0 };
    const worlds: SimWorldOptions[] = [
      { ...base, loss: 0, ...partition },
      { ...base, loss: 0.05, partitionMs: 0 },
    ];
    const what = ` + partition of ${partition.partitionGroup ? `${partition.partitionGroup} nodes` : "two halves"} healed`;
    log(`  sim n=${n}: two worlds (${formed ? "formed view, one newcomer" : "n joins"}; no loss${what}; 5% loss), seed ${seed}, wall bound ${wallLimitMs / 1000} s …`);
    // Side by side (one process each, two cores) when memory allows both.
    const sideBySide = 2 * predictedBytes <= totalmem() * 0.6;
    const outcomes = sideBySide ? await Promise.all(worlds.map((world) => runWorld(world, log))) : [await runWorld(worlds[0]!, log), await runWorld(worlds[1]!, log)];
    outcomes.forEach((outcome, i) => {
      const world = worlds[i]!;
      const row: SimRow = { n, loss: world.loss, seed, cpuMs: 0, wallMs: outcome.wallMs, status: "" };
      if (outcome.message?.type === "result") {
        row.result = outcome.message.result;
        row.cpuMs = outcome.message.cpuMs;
        row.status = checkWorld(row, seed);
      } else {
        row.status = outcome.message?.type === "error" ? `error: ${outcome.message.message.split("\n")[0]}` : "killed: no result in time";
      }
      log(`  sim n=${n} loss ${world.loss * 100}%: ${row.status} (${(row.wallMs / 1000).toFixed(0)} s wall)`);
      rows.push(row);
    });
  }
  return rows;
}
