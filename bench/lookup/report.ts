/** Tables and targets of the look-up bench. */
import { renderTable, type Column } from "../lib/table.ts";
import type { RealResult } from "./real.ts";
import type { SimWorldResult, Spread } from "./sim.ts";

const MISSING = "–";

function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? MISSING : value.toFixed(digits);
}

/** `p50 / p99` of a spread in ms, with the missing count when some never got there. */
function ms(s: Spread): string {
  return `${fixed(s.p50, 0)} / ${fixed(s.p99, 0)}${s.missing > 0 ? ` (${s.missing} missing)` : ""}`;
}

/** `p50 / max` of a spread in seconds. */
function secs(s: Spread | undefined): string {
  if (!s) return MISSING;
  return `${fixed(s.p50 / 1000, 1)} / ${fixed(s.max / 1000, 1)}${s.missing > 0 ? ` (${s.missing} missing)` : ""}`;
}

const right = (title: string): Column => ({ title, align: "right" });
const left = (title: string): Column => ({ title, align: "left" });

/** The real-process table: one row per cluster size. */
export function realTable(results: readonly RealResult[]): string {
  const columns = [
    right("N"),
    right("start s"),
    right("converge s"),
    right("drain s"),
    right("new service visible ms p50 / p99"),
    right("serve visible ms p50 / p99"),
    right("kill -9 → dead s p50 / p99 / max"),
    right("msgs/node/s"),
    right("RSS MB (all)"),
  ];
  const rows = results.map((r) => [
    String(r.n),
    fixed(r.startMs / 1000, 1),
    r.convergeMs === null ? "no" : fixed(r.convergeMs / 1000, 1),
    fixed(r.drainMs / 1000, 0),
    ms(r.join),
    ms(r.serve),
    `${fixed(r.dead.p50 / 1000, 1)} / ${fixed(r.dead.p99 / 1000, 1)} / ${fixed(r.dead.max / 1000, 1)}${r.dead.missing > 0 ? ` (${r.dead.missing} missing)` : ""}${
      r.dead.unknown > 0 ? ` (${r.dead.unknown} never knew it)` : ""
    }`,
    fixed(r.window.rate.messages, 2),
    fixed(r.rssTotal / 1024 / 1024, 0),
  ]);
  return renderTable(columns, rows);
}

/** One point of a traffic series: cluster size and a per-node-per-second figure. */
export interface SeriesPoint {
  n: number;
  value: number;
  /** Optional break-down printed beside the total. */
  parts?: Record<string, number>;
}

/**
 * A series against log N: the figure, the figure ÷ log2 N, and its growth since
 * the smallest N divided by the growth of log N. A last column ≤ 1 means the
 * figure grows no faster than log N.
 */
export function logSeries(unit: string, points: readonly SeriesPoint[]): { table: string; worst: number } {
  const first = points[0];
  const partNames = Object.keys(first?.parts ?? {});
  const columns = [right("N"), right(unit), ...partNames.map((name) => right(name)), right(`÷ log2 N`), right("growth ÷ log-N growth")];
  let worst = Number.NaN;
  const rows = points.map((p) => {
    const growth = first ? p.value / first.value / (Math.log2(p.n) / Math.log2(first.n)) : Number.NaN;
    if (p !== first && Number.isFinite(growth)) worst = Number.isFinite(worst) ? Math.max(worst, growth) : growth;
    return [
      String(p.n),
      fixed(p.value, p.value < 10 ? 2 : 0),
      ...partNames.map((name) => fixed(p.parts?.[name], 0)),
      fixed(p.value / Math.log2(p.n), 2),
      p === first ? "1.00 (base)" : fixed(growth, 2),
    ];
  });
  return { table: renderTable(columns, rows), worst };
}

/** The simulation table: one row per world. */
export function simTable(worlds: readonly SimRow[]): string {
  const columns = [
    right("N"),
    right("loss"),
    left("start"),
    right("join → all see all s p50 / max"),
    right("newcomer sees all s"),
    right("backlog drained s"),
    right("steady msgs/node/s"),
    right("steady B/node/s"),
    right("steady suspect events"),
    right("crash → dead s p50 / max"),
    right("partition healed → all see all s p50 / max"),
    right("false deaths"),
    right("wall s"),
    right("cpu s"),
    left("digest"),
    left("status"),
  ];
  const rows = worlds.map((w) => {
    const r = w.result;
    if (!r) return [String(w.n), `${(w.loss * 100).toFixed(0)}%`, "", "", "", "", "", "", "", "", "", "", fixed(w.wallMs / 1000, 0), "", "", w.status];
    const healed = r.heal ? `${secs(r.heal.times)} (${r.heal.group} cut off)${r.heal.stopped ? ` [${r.heal.stopped}]` : ""}` : MISSING;
    return [
      String(r.n),
      `${(r.loss * 100).toFixed(0)}%`,
      r.start === "formed" ? "formed + 1 join" : `${r.n} joins`,
      `${secs(r.join.times)}${r.join.stopped ? ` [${r.join.stopped}]` : ""}`,
      r.start === "formed" ? (r.newcomerSeesAllMs === null || r.newcomerSeesAllMs === undefined ? "no" : fixed(r.newcomerSeesAllMs / 1000, 1)) : MISSING,
      r.start === "formed" ? MISSING : `${fixed(r.drain.simMs / 1000, 0)}${r.drain.quiet ? "" : " (not quiet)"}`,
      fixed(r.steady.rate.messages, 2),
      fixed(r.steady.rate.bytes, 0),
      String(r.steady.suspicions),
      r.crash ? `${secs(r.crash.times)}${r.crash.stopped ? ` [${r.crash.stopped}]` : ""}` : MISSING,
      healed,
      String(r.falseDeaths),
      fixed(r.wallMs / 1000, 0),
      fixed(w.cpuMs / 1000, 0),
      r.digest,
      w.status,
    ];
  });
  return renderTable(columns, rows);
}

/** One simulated world as the orchestrator saw it. */
export interface SimRow {
  n: number;
  loss: number;
  seed: number;
  result?: SimWorldResult;
  cpuMs: number;
  wallMs: number;
  /** `ok`, `FAILED: …`, `stopped: …` or `skipped: …`. */
  status: string;
}

/** A performance target, met or not, with the figures that decided it. */
export interface Goal {
  name: string;
  met: boolean | null;
  detail: string;
}

/** The targets as lines: ✔ met, ✘ missed, ? not measured. */
export function goalLines(goals: readonly Goal[]): string {
  return goals.map((g) => `${g.met === null ? "?" : g.met ? "✔" : "✘"} ${g.name}: ${g.detail}`).join("\n");
}
