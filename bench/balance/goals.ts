import type { GoalOutcome } from "../lib/goals.ts";
import { times } from "../lib/format.ts";
import { median } from "../lib/stats.ts";
import { phaseMedian, roundRatio, strategyMedian, strategyRatio } from "./figures.ts";
import type { BalanceReport } from "./run.ts";

const p99 = (sample: { result: { p99Us: number } }): number => sample.result.p99Us;
const callsPerSec = (phase: { result: { callsPerSec: number } }): number => phase.result.callsPerSec;

/** The balancing targets, each from figures of this run. */
export function evaluateBalanceGoals(report: BalanceReport): GoalOutcome[] {
  const outcomes: GoalOutcome[] = [];
  const { strategies, hash, fastPath } = report;

  const p99Ratio = strategyRatio(strategies, "p2c", "round-robin", p99);
  outcomes.push(
    check(
      "balance: p2c p99 ≤ ⅓ of round-robin's, one instance 10× slower",
      `${ms(strategyMedian(strategies, "p2c", p99))} ms vs ${ms(strategyMedian(strategies, "round-robin", p99))} ms: ${times(p99Ratio)}` +
        `; ${percent(strategyMedian(strategies, "p2c", (sample) => sample.slowShare))} of p2c's calls to the slow one`,
      p99Ratio,
      (r) => r <= 1 / 3,
    ),
  );

  const trials = hash?.trials ?? [];
  const leaveWorst = trials.length > 0 ? Math.max(...trials.map((trial) => trial.leaveMovedMax)) : Number.NaN;
  const leaveMean = median(trials.map((trial) => trial.leaveMovedMean));
  outcomes.push(
    check(
      "balance: hash ring, keys moved when 1 of 10 leaves ≤ 0.15",
      `worst ${share(leaveWorst)} (mean ${share(leaveMean)}) over ${trials.length} id sets × 10 leavers`,
      leaveWorst,
      (v) => v <= 0.15,
    ),
  );
  const imbalanceWorst = trials.length > 0 ? Math.max(...trials.map((trial) => trial.imbalance)) : Number.NaN;
  const imbalanceMedian = median(trials.map((trial) => trial.imbalance));
  outcomes.push(
    check(
      "balance: hash ring, load max/mean over 10 instances ≤ 1.25",
      `worst ${imbalanceWorst.toFixed(3)} (median ${imbalanceMedian.toFixed(3)}) over ${trials.length} id sets`,
      imbalanceWorst,
      (v) => v <= 1.25,
    ),
  );

  const fixed = phaseMedian(fastPath, "fixed", callsPerSec);
  const balanced = phaseMedian(fastPath, "balanced", callsPerSec);
  // Within each round, then the median: the machine's slow spells cancel out.
  const fastRatio = roundRatio(fastPath);
  outcomes.push(
    check(
      "balance: balanced client (p2c) calls/s ≥ 0.9× fixed connection, c=64",
      `${count(balanced)} vs ${count(fixed)} calls/s (medians); median of per-round ratios ${times(fastRatio)}`,
      fastRatio,
      (r) => r >= 0.9,
    ),
  );
  return outcomes;
}

function check(target: string, measured: string, value: number, pass: (value: number) => boolean): GoalOutcome {
  return { target, measured, status: Number.isFinite(value) ? (pass(value) ? "met" : "missed") : "n/a" };
}

function ms(us: number): string {
  return Number.isFinite(us) ? (us / 1000).toFixed(2) : "–";
}

function percent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(2)} %` : "–";
}

function share(value: number): string {
  return Number.isFinite(value) ? value.toFixed(3) : "–";
}

function count(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "–";
}
