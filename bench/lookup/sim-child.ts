/**
 * Runs one simulated world in its own process, so that the orchestrator can
 * give it a larger heap, bound it in wall-clock time and kill it if it overruns.
 * Argument (argv[2]): the world's options as JSON. Sends back one `result` message.
 */
import { runSimWorld, type SimWorldOptions, type SimWorldResult } from "./sim.ts";

/** What the world's process sends back. */
export type SimChildMessage =
  | { type: "result"; result: SimWorldResult; cpuMs: number }
  | { type: "progress"; line: string }
  | { type: "error"; message: string };

process.on("disconnect", () => process.exit(0));

function tell(message: SimChildMessage): void {
  if (process.send) process.send(message, () => process.exit(0));
  else {
    console.log(JSON.stringify(message));
    process.exit(0);
  }
}

try {
  const options = JSON.parse(process.argv[2] ?? "null") as SimWorldOptions;
  const result = runSimWorld(options, (line) => process.send?.({ type: "progress", line } satisfies SimChildMessage));
  const cpu = process.cpuUsage();
  tell({ type: "result", result, cpuMs: (cpu.user + cpu.system) / 1000 });
} catch (error) {
  tell({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
