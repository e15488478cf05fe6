import { count, micros, times } from "../lib/format.ts";
import { median } from "../lib/stats.ts";
import { renderTable, type Column } from "../lib/table.ts";
import { phaseMedian, strategyMedian, strategyRatio } from "./figures.ts";
import type { StrategySample } from "./protocol.ts";
import type { BalanceReport } from "./run.ts";

const STRATEGY_ORDER = ["p2c", "round-robin", "random"] as const;

/** The balancing benchmarks' tables, with the load average they ran under. */
export function renderBalance(report: BalanceReport): string {
  const load = (values: number[]): string => values.map((value) => value.toFixed(2)).join(" ");
  const parts = [
    `Balancing (${(report.elapsedMs / 1000).toFixed(0)} s; ${report.cpus} CPUs; load average ${load(report.loadAverage.start)} at its start, ${load(report.loadAverage.end)} at its end)`,
  ];
  if (report.strategies.length > 0) parts.push(renderStrategies(report));
  if (report.hash) parts.push(renderHashing(report));
  if (report.fastPath.length > 0) parts.push(renderFastPath(report));
  for (const failure of report.failures) parts.push(`balance ${failure}: FAILED`);
  return parts.join("\n\n");
}

function renderStrategies(report: BalanceReport): string {
  const { samples, plan } = { samples: report.strategies, plan: report.plan.strategies };
  const runs = new Set(samples.map((sample) => sample.run)).size;
  const columns: Column[] = [
    { title: "strategy", align: "left" },
    { title: "calls/s", align: "right" },
    { title: "mean ms", align: "right" },
    { title: "p50 ms", align: "right" },
    { title: "p99 ms", align: "right" },
    { title: "p99/rr", align: "right" },
    { title: "p99 fast-only", align: "right" },
    { title: "to slow", align: "right" },
    { title: "note", align: "left" },
  ];
  const rows = STRATEGY_ORDER.map((strategy) => {
    const mine = samples.filter((sample) => sample.strategy === strategy);
    if (mine.length === 0) return [strategy, "–", "", "", "", "", "", "", "not run"];
    const errors = mine.reduce((sum, sample) => sum + sample.result.errors, 0);
    const truncated = mine.filter((sample) => sample.result.truncated).length;
    const notes: string[] = [];
    if (errors > 0) notes.push(`${errors} errors`);
    if (truncated > 0) notes.push(`time cap hit in ${truncated}/${mine.length} runs`);
    return [
      strategy,
      count(strategyMedian(samples, strategy, (sample) => sample.result.callsPerSec)),
      millis(strategyMedian(samples, strategy, (sample) => sample.result.meanUs)),
      millis(strategyMedian(samples, strategy, (sample) => sample.result.p50Us)),
      millis(strategyMedian(samples, strategy, (sample) => sample.result.p99Us)),
      times(strategyRatio(samples, strategy, "round-robin", (sample) => sample.result.p99Us)),
      millis(strategyMedian(samples, strategy, (sample) => sample.fastOnlyP99Us)),
      percent(strategyMedian(samples, strategy, (sample) => sample.slowShare), 2),
      notes.join("; "),
    ];
  });
  return (
    `Strategies under a slow instance: 4 instances in their own processes, handlers waiting ${plan.fastDelayMs} ms (×3) and ${plan.slowDelayMs} ms (×1);\n` +
    `one caller starting ${count(plan.load.ratePerSec)} calls/s whatever the answers do (so every strategy does the same work), ${count(plan.load.calls)} calls per strategy\n` +
    `(at most ${plan.load.maxMs / 1000} s) after ${count(plan.load.warmupCalls)} warm-up calls,\n` +
    `a fresh caller node per strategy; median of ${runs} run${runs === 1 ? "" : "s"}, strategy order rotating per run\n` +
    `${renderTable(columns, rows)}\n` +
    `p99/rr: this strategy's p99 ÷ round-robin's in the same run (median over runs). p99 fast-only: the p99 of the calls the fast instances\n` +
    `answered, the floor a strategy that never chose the slow one would reach. to slow: share of calls the slow instance ran (¼ is an even spread).\n` +
    balancerView(samples)
  );
}

/** What p2c saw: its latency estimates at the end of its runs, and the caller's own stalls. */
function balancerView(samples: readonly StrategySample[]): string {
  const p2c = samples.filter((sample) => sample.strategy === "p2c");
  if (p2c.length === 0) return "";
  const names = [...new Set(p2c.flatMap((sample) => Object.keys(sample.estimatesMs)))].sort();
  const estimates = names.map((name) => `${name} ${fixed(median(p2c.map((sample) => sample.estimatesMs[name] ?? Number.NaN)), 2)}`).join(", ");
  const loopP99 = median(p2c.map((sample) => sample.loopDelayP99Ms));
  const loopMax = median(p2c.map((sample) => sample.loopDelayMaxMs));
  return (
    `p2c's peak-EWMA latency estimates when its measurement ended (ms, median over runs): ${estimates || "–"};\n` +
    `the caller's event-loop delay meanwhile: p99 ${fixed(loopP99, 2)} ms, largest ${fixed(loopMax, 2)} ms (a stall delays the answers of every instance alike)`
  );
}

function renderHashing(report: BalanceReport): string {
  const hash = report.hash!;
  const trials = hash.trials;
  const n = report.plan.hash.instances;
  const pick = (of: (trial: (typeof trials)[number]) => number): number[] => trials.map(of);
  const row = (label: string, values: number[], worst: "max" | "min", ideal: string, digits = 3): string[] => [
    label,
    fixed(median(values), digits),
    fixed(values.length > 0 ? (worst === "max" ? Math.max(...values) : Math.min(...values)) : Number.NaN, digits),
    ideal,
  ];
  const columns: Column[] = [
    { title: "HashRing", align: "left" },
    { title: "median", align: "right" },
    { title: "worst", align: "right" },
    { title: "ideal", align: "right" },
  ];
  const stray = trials.reduce((sum, trial) => sum + trial.leaveStrayMoves + trial.joinStrayMoves, 0);
  const rows = [
    row("largest instance's keys ÷ mean", pick((trial) => trial.imbalance), "max", "1"),
    row("smallest instance's keys ÷ mean", pick((trial) => trial.minShare), "min", "1"),
    row(`keys moved, 1 of ${n} leaves (mean over leavers)`, pick((trial) => trial.leaveMovedMean), "max", fixed(1 / n, 3)),
    row(`keys moved, 1 of ${n} leaves (largest leaver)`, pick((trial) => trial.leaveMovedMax), "max", fixed(1 / n, 3)),
    row(`keys moved, an ${ordinal(n + 1)} joins`, pick((trial) => trial.joinMoved), "max", fixed(1 / (n + 1), 3)),
  ];
  const lines = [
    `Consistent hashing: HashRing (src/balance/hash-ring.ts, 160 points per instance), ${n} instances, ${count(report.plan.hash.keys)} keys,`,
    `${trials.length} sets of UUID-shaped instance ids (seeded, the same every run); each instance leaving in turn, one joining`,
    renderTable(columns, rows),
    `keys that moved between two instances that both stayed: ${stray} (should be 0); HashRing.pick: ${fixed(hash.pickNs, 0)} ns per key`,
  ];
  const e2e = hash.endToEnd;
  if (e2e) {
    lines.push(
      `end to end, node.client(…, { balance: { strategy: "hash" } }) over in-process connections to ${e2e.instances} nodes, ${count(e2e.keys)} keys:\n` +
        `  same instance as a HashRing of the node ids for ${percent(e2e.agreesWithRing)} of keys; largest ÷ mean ${fixed(e2e.imbalance, 3)};\n` +
        `  one node closed: ${fixed(e2e.leaveMoved, 3)} of keys moved (${e2e.leaveStrayMoves} from a node that stayed); one connected: ${fixed(e2e.joinMoved, 3)} moved ` +
        `(${e2e.joinStrayMoves} elsewhere than to it); ${e2e.errors} errors; ${(e2e.elapsedMs / 1000).toFixed(1)} s`,
    );
  } else if (hash.endToEndError) {
    lines.push(`end to end FAILED: ${hash.endToEndError}`);
  }
  return lines.join("\n");
}

function renderFastPath(report: BalanceReport): string {
  const phases = report.fastPath;
  const plan = report.plan.fastPath;
  const rounds = new Set(phases.map((phase) => phase.round)).size;
  const fixedRate = phaseMedian(phases, "fixed", (phase) => phase.result.callsPerSec);
  const fixedCpu = phaseMedian(phases, "fixed", (phase) => phase.result.clientCpuUs);
  const columns: Column[] = [
    { title: "client", align: "left" },
    { title: "calls/s", align: "right" },
    { title: "vs fixed", align: "right" },
    { title: "each round", align: "left" },
    { title: "p50 µs", align: "right" },
    { title: "p99 µs", align: "right" },
    { title: "client CPU µs/call", align: "right" },
    { title: "note", align: "left" },
  ];
  const rows = (["fixed", "balanced"] as const).map((variant) => {
    const mine = phases.filter((phase) => phase.variant === variant).sort((a, b) => a.round - b.round);
    const rate = phaseMedian(phases, variant, (phase) => phase.result.callsPerSec);
    const cpu = phaseMedian(phases, variant, (phase) => phase.result.clientCpuUs);
    const errors = mine.reduce((sum, phase) => sum + phase.result.errors, 0);
    const truncated = mine.filter((phase) => phase.result.truncated).length;
    const notes: string[] = [];
    if (errors > 0) notes.push(`${errors} errors`);
    if (truncated > 0) notes.push(`time cap hit in ${truncated}/${mine.length} rounds`);
    return [
      variant === "fixed" ? "fixed: connect() + peer.client()" : 'balanced: node.client(), "p2c"',
      count(rate),
      times(rate / fixedRate),
      mine.map((phase) => count(phase.result.callsPerSec)).join(", "),
      micros(phaseMedian(phases, variant, (phase) => phase.result.p50Us)),
      micros(phaseMedian(phases, variant, (phase) => phase.result.p99Us)),
      variant === "fixed" ? micros(cpu) : `${micros(cpu)} (${signed(cpu - fixedCpu)})`,
      notes.join("; "),
    ];
  });
  return (
    `Cost of balancing on the fast path: one server process (amoeba tcp), one caller process holding both clients, each on its own connection;\n` +
    `small {a,b}→sum at c=${plan.load.concurrency}, ${count(plan.load.calls)} calls per phase (at most ${plan.load.maxMs / 1000} s), ${rounds} round${rounds === 1 ? "" : "s"}, the first of each alternating; medians\n` +
    renderTable(columns, rows)
  );
}

function millis(us: number): string {
  return Number.isFinite(us) ? (us / 1000).toFixed(2) : "–";
}

function percent(value: number, digits = 1): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)} %` : "–";
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "–";
}

function signed(value: number): string {
  return Number.isFinite(value) ? `${value >= 0 ? "+" : ""}${value.toFixed(1)}` : "–";
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${suffix}`;
}
