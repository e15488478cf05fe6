import type { BenchConfig } from "./config.ts";
import type { Figures } from "./figures.ts";
import type { LoadResult } from "./messages.ts";
import type { Scenario } from "./scenarios.ts";
import { planFor, SystemRunner } from "./system-runner.ts";
import type { SystemSpec } from "./systems.ts";

/**
 * One run of the comparison: every system's processes started together, then
 * scenario by scenario each system takes its turn, so the systems compared
 * in one scenario are measured minutes apart at most, under the same machine
 * load. The turn order rotates so no system always goes first.
 */
export async function benchRun(
  run: number,
  systems: readonly SystemSpec[],
  scenarios: readonly Scenario[],
  config: BenchConfig,
  tempDir: string,
  figures: Figures,
  progress: (line: string) => void,
): Promise<void> {
  const runners = systems.map((system) => new SystemRunner(system, tempDir, config));
  try {
    const started = await Promise.allSettled(runners.map((runner) => runner.start()));
    const live = new Set<SystemRunner>();
    started.forEach((outcome, i) => {
      const runner = runners[i]!;
      if (outcome.status === "fulfilled") live.add(runner);
      else failed(runner, outcome.reason, figures, progress);
    });
    progress(`run ${run + 1}: ${live.size} of ${runners.length} systems started`);
    for (const [index, scenario] of scenarios.entries()) {
      const order = rotate([...live], run + index);
      for (const runner of order) {
        try {
          const sample = await runner.run(run, scenario, planFor(scenario, config));
          figures.add(runner.system.id, scenario.id, sample);
          progress(describe(runner.system.id, scenario.id, sample.result));
        } catch (error) {
          // Its client may still be mid-scenario: drop the system for the rest of this run.
          failed(runner, error, figures, progress);
          live.delete(runner);
          await runner.stop();
        }
      }
    }
  } finally {
    await Promise.all(runners.map((runner) => runner.stop()));
  }
}

function failed(runner: SystemRunner, error: unknown, figures: Figures, progress: (line: string) => void): void {
  const message = error instanceof Error ? error.message : String(error);
  figures.fail(runner.system.id, message);
  progress(`${runner.system.id}: FAILED: ${message}`);
}

function rotate<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]!);
}

function describe(system: string, scenario: string, result: LoadResult): string {
  return (
    `${system.padEnd(13)} ${scenario.padEnd(10)} ${Math.round(result.callsPerSec).toLocaleString("en-US").padStart(9)} calls/s` +
    `  p50 ${result.p50Us.toFixed(1)} µs  p99 ${result.p99Us.toFixed(1)} µs` +
    (result.errors > 0 ? `  ${result.errors} ERRORS` : "") +
    (result.truncated ? `  (time cap: ${result.calls} calls)` : "")
  );
}
