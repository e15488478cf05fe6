import { flagOption, parseOrHelp, stringOption, type ParsedArgs } from "./args.ts";
import { formatDuration, formatMs, parseDuration } from "./duration.ts";
import { EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { liveStdout, type LiveOutput } from "./live-output.ts";
import { DEFAULT_WAIT_MS, describeWhere, planLookup, type LookupPlan } from "./lookup-args.ts";
import { joinAsTool, type ToolView } from "./lookup-session.ts";
import { gatherStats } from "./ls-stats.ts";
import { toJson } from "./output.ts";
import { formatShare } from "../dashboard/figures.ts";
import { formatTable, plural } from "./table.ts";
import { compareReadings, isReadable, type Reading, type TopFrame } from "./top-figures.ts";
import { TOP } from "./usage-tools.ts";
import { planClientTls } from "./tls-args.ts";
import type { TlsClientOptions } from "../index.ts";

const DEFAULT_INTERVAL_MS = 1_000;
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 10 * 60_000;
/** Clear the screen and put the cursor top left: the next frame replaces the last. */
const REDRAW = "\x1b[H\x1b[2J";

/** What `amoeba top` was asked to do. */
export interface TopPlan {
  readonly lookup: LookupPlan;
  readonly intervalMs: number;
  readonly once: boolean;
  readonly json: boolean;
  /** TLS towards the nodes it asks; undefined for none. */
  readonly tls: TlsClientOptions | undefined;
}

/** `amoeba top`: returns the exit code (see {@link EXIT}). */
export async function runTop(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(TOP, argv, io);
  if (!args) return EXIT.ok;
  const plan = planTop(args);
  const view = await joinAsTool(plan.lookup, "top", { wait: DEFAULT_WAIT_MS, tls: plan.tls });
  const out = liveStdout(io);
  const stop = untilSignal();
  try {
    // Rates need two readings: say so, rather than show a blank terminal for a while.
    if (out.tty && !plan.json) out.write(`${REDRAW}watching ${describeWhere(plan.lookup)}; the first figures come after ${formatDuration(plan.intervalMs)}\n`);
    let before = await read(view);
    while (!(await stop.sleep(plan.intervalMs))) {
      const after = await read(view);
      show(out, plan, compareReadings(before, after));
      before = after;
      if (plan.once) break;
    }
    return EXIT.ok;
  } finally {
    stop.dispose();
    await view.close();
  }
}

/** Checks the command line; every mistake is a UsageError (exit 2). */
export function planTop(args: ParsedArgs): TopPlan {
  if (args.positionals.length > 0) throw new UsageError(`takes no arguments, got ${args.positionals.join(" ")}`, "top");
  const lookup = planLookup(args, "top");
  if (lookup === undefined) {
    throw new UsageError("needs a cluster to watch: --cluster <name>, --seeds <udp://host:port> or --registry <address>", "top");
  }
  const interval = stringOption(args, "interval");
  return {
    lookup,
    intervalMs: interval === undefined ? DEFAULT_INTERVAL_MS : parseDuration(interval, "interval", "top", MIN_INTERVAL_MS, MAX_INTERVAL_MS),
    once: flagOption(args, "once"),
    json: flagOption(args, "json"),
    tls: planClientTls(args, "top"),
  };
}

/** Asks every member of the cluster (as it is now: members come and go) for its figures. */
async function read(view: ToolView): Promise<Reading> {
  const answers = await gatherStats(view.members(), view);
  for (const [id, stats] of answers) if (!isReadable(stats)) answers.delete(id);
  return { at: performance.now(), nodes: answers };
}

/** A pause that Ctrl-C or SIGTERM ends early; `sleep` then resolves true, and so does every later one. */
function untilSignal(): { sleep(ms: number): Promise<boolean>; dispose(): void } {
  let stopped = false;
  let wake = (): void => {};
  const onSignal = (): void => {
    stopped = true;
    wake();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    sleep: (ms) =>
      new Promise((resolve) => {
        if (stopped) return resolve(true);
        const timer = setTimeout(() => resolve(stopped), ms);
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      }),
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

function show(out: LiveOutput, plan: TopPlan, frame: TopFrame): void {
  if (plan.json) {
    out.write(`${toJson({ at: new Date().toISOString(), ...frame }, true)}\n`);
    return;
  }
  const lines = formatFrame(plan, frame);
  if (!out.tty) {
    out.write(`${lines.join("\n")}\n\n`);
    return;
  }
  // On a terminal the table fits the screen; the rest is summed up in one line.
  const room = Math.max(out.rows - 1, 4);
  const shown = lines.length <= room ? lines : [...lines.slice(0, room - 1), `… ${lines.length - room + 1} more lines; a taller terminal shows them`];
  out.write(`${REDRAW}${shown.map((line) => line.slice(0, out.columns)).join("\n")}\n`);
}

/** The frame for people: a header line, the methods busiest first, and the nodes without figures. */
export function formatFrame(plan: TopPlan, frame: TopFrame): string[] {
  const total = frame.methods.reduce((sum, m) => sum + m.callsPerSecond, 0);
  const time = new Date().toISOString().slice(11, 19);
  const lines = [
    `${time}  ${describeWhere(plan.lookup)}: ${plural(frame.nodes, "node")}, ${total.toFixed(1)} calls/s, ${plural(frame.inFlightNow, "call")} in flight now (over ${formatDuration(Math.round(frame.seconds * 1_000))})`,
    "",
  ];
  if (frame.methods.length === 0) lines.push("no calls served in this interval");
  else {
    const rows = frame.methods.map((m) => [
      `${m.service}.${m.method}`,
      m.callsPerSecond.toFixed(1),
      formatShare(m.errorRate),
      m.p50Ms === null ? "-" : formatMs(m.p50Ms),
      m.p99Ms === null ? "-" : formatMs(m.p99Ms),
      m.inFlight.toFixed(1),
      String(m.nodes),
      Object.entries(m.errors)
        .map(([code, count]) => `${code} ${count}`)
        .join(", "),
    ]);
    lines.push(...formatTable(["METHOD", "CALLS/S", "ERRORS", "P50", "P99", "IN-FLIGHT", "NODES", "ERROR CODES"], rows));
  }
  if (frame.withoutMetrics.length > 0) {
    lines.push("", `no per-method figures from ${frame.withoutMetrics.join(", ")}: serve with --metrics-port (or startNode({ metrics: true }))`);
  }
  return lines;
}
