import type { Figures, Sample } from "./figures.ts";
import { megabytes, micros, times } from "./format.ts";
import type { OverheadResult } from "./messages.ts";
import { median, ratio } from "./stats.ts";

/** One target and how this run fared: met, missed, or not measurable (a system missing). */
export interface GoalOutcome {
  target: string;
  measured: string;
  status: "met" | "missed" | "n/a";
}

const ALL_SCENARIOS = ["small-c1", "small-c64", "echo4k-c1", "echo4k-c64"];

const callsPerSec = (sample: Sample): number => sample.result.callsPerSec;
const p50 = (sample: Sample): number => sample.result.p50Us;
const p99 = (sample: Sample): number => sample.result.p99Us;

/**
 * Checks Amoeba's performance targets. Each ratio is taken within a run
 * (the systems measured side by side), then the median over runs.
 */
export function evaluateGoals(figures: Figures, overhead: readonly OverheadResult[]): GoalOutcome[] {
  const outcomes: GoalOutcome[] = [];
  const vsRaw = figures.ratioByRun("amoeba-tcp", "raw", "small-c64", callsPerSec);
  outcomes.push(check("amoeba tcp c=64 small calls/s ≥ 0.8× raw node:net", `${times(vsRaw)} raw`, vsRaw, (r) => r >= 0.8));
  const unixVsRaw = figures.ratioByRun("amoeba-unix", "raw-unix", "small-c64", callsPerSec);
  outcomes.push(check("amoeba unix c=64 small calls/s ≥ 0.8× raw unix", `${times(unixVsRaw)} raw unix`, unixVsRaw, (r) => r >= 0.8));

  const p99VsRaw = figures.ratioByRun("amoeba-tcp", "raw", "small-c64", p99);
  outcomes.push(
    check(
      "amoeba tcp c=64 small p99 ≤ 2.5× raw's",
      `${micros(figures.get("amoeba-tcp", "small-c64")?.p99Us)} µs vs ${micros(figures.get("raw", "small-c64")?.p99Us)} µs: ${times(p99VsRaw)}`,
      p99VsRaw,
      (r) => r <= 2.5,
    ),
  );

  const p50Ratio = figures.ratioByRun("amoeba-tcp", "raw", "small-c1", p50);
  outcomes.push(
    check(
      "amoeba tcp c=1 small p50 ≤ 1.15× raw's",
      `${micros(figures.get("amoeba-tcp", "small-c1")?.p50Us)} µs vs ${micros(figures.get("raw", "small-c1")?.p50Us)} µs: ${times(p50Ratio)}`,
      p50Ratio,
      (r) => r <= 1.15,
    ),
  );

  const echoVsRaw = figures.ratioByRun("amoeba-tcp", "raw", "echo4k-c64", callsPerSec);
  outcomes.push(check("amoeba tcp c=64 4 KiB echo calls/s ≥ 1.2× raw", `${times(echoVsRaw)} raw`, echoVsRaw, (r) => r >= 1.2));

  const rssVsRaw = ratio(figures.get("amoeba-tcp", "small-c64")?.rssBytes, figures.get("raw", "small-c64")?.rssBytes);
  outcomes.push(
    check(
      "amoeba tcp server RSS at c=64 small ≤ 1.3× raw's",
      `${megabytes(figures.get("amoeba-tcp", "small-c64")?.rssBytes)} MB vs ${megabytes(figures.get("raw", "small-c64")?.rssBytes)} MB: ${times(rssVsRaw)}`,
      rssVsRaw,
      (r) => r <= 1.3,
    ),
  );

  const vsMoleculer = figures.ratioByRun("amoeba-tcp", "moleculer", "small-c64", callsPerSec);
  outcomes.push(check("amoeba tcp c=64 small calls/s ≥ 2.5× moleculer", `${times(vsMoleculer)} moleculer`, vsMoleculer, (r) => r >= 2.5));

  const withMetrics = figures.ratioByRun("amoeba-metrics", "amoeba-tcp", "small-c64", callsPerSec);
  outcomes.push(check("amoeba tcp c=64 small calls/s with metrics on ≥ 0.9× metrics off", `${times(withMetrics)} metrics off`, withMetrics, (r) => r >= 0.9));

  const vsGrpc = figures.ratioByRun("amoeba-tcp", "grpc", "small-c64", callsPerSec);
  outcomes.push(check("amoeba tcp c=64 small calls/s ≥ 10× grpc-js", `${times(vsGrpc)} grpc-js`, vsGrpc, (r) => r >= 10));

  for (const scenario of ["small-c64", "echo4k-c64"]) {
    const amoeba = figures.get("amoeba-tcp", scenario)?.p99Us;
    const grpc = figures.get("grpc", scenario)?.p99Us;
    const moleculer = figures.get("moleculer", scenario)?.p99Us;
    // Below both: the larger of the two per-run ratios must stay under 1.
    const worst = Math.max(figures.ratioByRun("amoeba-tcp", "grpc", scenario, p99), figures.ratioByRun("amoeba-tcp", "moleculer", scenario, p99));
    outcomes.push(
      check(
        `amoeba tcp ${scenario} p99 below grpc-js's and moleculer's`,
        `${micros(amoeba)} µs vs grpc-js ${micros(grpc)}, moleculer ${micros(moleculer)}; per run vs the lower: ${times(worst)}`,
        worst,
        (r) => r < 1,
      ),
    );
  }

  const on = median(overhead.map((run) => run.validateOnUs - run.directUs));
  outcomes.push(check("in-process call overhead ≤ 1 µs, validation on", `${Number.isFinite(on) ? on.toFixed(2) : "–"} µs`, on, (v) => v <= 1));
  // Per run: the same rounds interleave both variants, so the ratio holds whatever else the machine did.
  const withInterceptor = median(overhead.map((run) => run.interceptedUs / run.validateOnUs));
  outcomes.push(
    check("in-process call with one interceptor ≤ 1.05× without", `${Number.isFinite(withInterceptor) ? withInterceptor.toFixed(3) : "–"}×`, withInterceptor, (r) => r <= 1.05),
  );
  const off = median(overhead.map((run) => run.validateOffUs - run.directUs));
  outcomes.push(check("in-process call overhead ≤ 2 µs, validation off", `${Number.isFinite(off) ? off.toFixed(2) : "–"} µs`, off, (v) => v <= 2));

  const amoebaRss = figures.peakRss("amoeba-tcp", ALL_SCENARIOS);
  const moleculerRss = figures.peakRss("moleculer", ALL_SCENARIOS);
  outcomes.push(
    check(
      "amoeba tcp server RSS under load ≤ moleculer's",
      `${megabytes(amoebaRss)} MB vs ${megabytes(moleculerRss)} MB (peak over scenarios)`,
      ratio(amoebaRss, moleculerRss),
      (r) => r <= 1,
    ),
  );
  return outcomes;
}

function check(target: string, measured: string, value: number, pass: (value: number) => boolean): GoalOutcome {
  return { target, measured, status: Number.isFinite(value) ? (pass(value) ? "met" : "missed") : "n/a" };
}

/** The targets as printed lines. */
export function renderGoals(outcomes: readonly GoalOutcome[]): string {
  const width = Math.max(...outcomes.map((outcome) => outcome.target.length));
  return outcomes
    .map((outcome) => `${outcome.status === "met" ? "MET   " : outcome.status === "missed" ? "MISSED" : "n/a   "}  ${outcome.target.padEnd(width)}  ${outcome.measured}`)
    .join("\n");
}
