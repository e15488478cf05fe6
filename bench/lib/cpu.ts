import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time another process has used, in nanoseconds, summed over its threads
 * (V8's GC helpers and libuv's pool included) from /proc/<pid>/task/<tid>/schedstat.
 * Undefined where /proc is missing. CPU per call is the figure that stays
 * meaningful on a machine shared with other work, where wall time does not.
 */
export function readCpuNs(pid: number): number | undefined {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // A thread that ended meanwhile: its time is lost, which is a rounding error here.
      }
    }
    return total;
  } catch {
    return undefined;
  }
}
