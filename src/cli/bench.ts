import type { CallOptions } from "../index.ts";
import { flagOption, parseCount, parseOrHelp, stringOption, type ParsedArgs } from "./args.ts";
import { startLoad, type Load, type LoadLimits, type LoadResult } from "./bench-load.ts";
import { formatProgress, formatSummary, summarize } from "./bench-report.ts";
import { openTarget } from "./bench-target.ts";
import { planCall, type CallPlan } from "./call.ts";
import { parseDuration } from "./duration.ts";
import { dynamicContract } from "../dashboard/dynamic-contract.ts";
import { EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { liveStderr, type LiveOutput } from "./live-output.ts";
import { toJson } from "./output.ts";
import { BENCH } from "./usage-tools.ts";

/** The most calls one run makes, and its longest time: a run always ends by itself. */
export const MAX_CALLS = 1_000_000;
export const MAX_DURATION_MS = 10 * 60_000;
/** A run given neither --calls nor --duration lasts this long. */
export const DEFAULT_DURATION_MS = 10_000;
const DEFAULT_CONCURRENCY = 8;
const MAX_CONCURRENCY = 1_000;

/** One load run, as the command line asks for it. */
export interface BenchPlan {
  /** What to call and how to find it: the same as `amoeba call` reads. */
  readonly call: CallPlan;
  readonly limits: LoadLimits;
  readonly json: boolean;
}

/** `amoeba bench`: returns the exit code (see {@link EXIT}); 1 when no call succeeded. */
export async function runBench(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(BENCH, argv, io);
  if (!args) return EXIT.ok;
  const plan = planBench(args);
  const target = await openTarget(plan.call);
  try {
    const { service, method, input, timeout, meta } = plan.call;
    const contract = dynamicContract(service, target.version, method, "unary");
    const client = target.node.client(contract, {
      ...(plan.call.version !== undefined ? { version: plan.call.version } : {}),
      ...(meta !== undefined ? { meta } : {}),
      timeout,
    });
    const call = (client as unknown as Record<string, (input: unknown, options: CallOptions) => Promise<unknown>>)[method]!;
    const result = await watch(startLoad((signal) => call(input, { signal }), plan.limits), plan.limits, liveStderr(io));
    const instances = target.node
      .stats()
      .services.filter((stats) => stats.service === service)
      .flatMap((stats) => stats.instances);
    const summary = summarize(`${service}.${method}`, plan.limits, result, instances);
    if (plan.json) io.out(toJson(summary, true));
    else for (const line of formatSummary(summary)) io.out(line);
    return summary.ok > 0 ? EXIT.ok : EXIT.failure;
  } finally {
    await target.close();
  }
}

/** Checks the command line; every mistake is a UsageError (exit 2). */
export function planBench(args: ParsedArgs): BenchPlan {
  let call: CallPlan;
  try {
    call = planCall(args);
  } catch (error) {
    // The target, input and look-up are read as `amoeba call` reads them; the help to point at is bench's.
    if (error instanceof UsageError) throw new UsageError(error.message, "bench");
    throw error;
  }
  const callsText = stringOption(args, "calls");
  const durationText = stringOption(args, "duration");
  const calls = callsText === undefined ? MAX_CALLS : parseCount(callsText, "calls", "bench");
  if (calls > MAX_CALLS) throw new UsageError(`--calls takes at most ${MAX_CALLS}, not ${calls}`, "bench");
  const durationMs =
    durationText !== undefined
      ? parseDuration(durationText, "duration", "bench", 1, MAX_DURATION_MS)
      : callsText !== undefined
        ? MAX_DURATION_MS
        : DEFAULT_DURATION_MS;
  const concurrencyText = stringOption(args, "concurrency");
  const concurrency = concurrencyText === undefined ? DEFAULT_CONCURRENCY : parseCount(concurrencyText, "concurrency", "bench");
  if (concurrency > MAX_CONCURRENCY) throw new UsageError(`--concurrency takes at most ${MAX_CONCURRENCY}, not ${concurrency}`, "bench");
  return { call, limits: { calls, durationMs, concurrency }, json: flagOption(args, "json") };
}

/**
 * Shows the run's progress on stderr until it ends (a bar on a terminal, a
 * line a second otherwise); Ctrl-C or SIGTERM interrupts it, and the result
 * still comes.
 */
async function watch(load: Load, limits: LoadLimits, out: LiveOutput): Promise<LoadResult> {
  const onSignal = (): void => load.interrupt();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const draw = (): void => {
    if (!out.tty) return out.write(`${formatProgress(load.progress(), limits, undefined)}\n`);
    const width = Math.max(10, Math.min(40, out.columns - 70));
    out.write(`\r${formatProgress(load.progress(), limits, { width })}\x1b[K`);
  };
  const timer = setInterval(draw, out.tty ? 100 : 1_000);
  try {
    return await load.result;
  } finally {
    clearInterval(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (out.tty) out.write("\r\x1b[K");
  }
}
