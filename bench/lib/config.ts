import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SCENARIOS } from "./scenarios.ts";
import { SYSTEMS } from "./systems.ts";

const PARTS = [...SYSTEMS.map((system) => system.id as string), "overhead", "micro", "balance", "edge", "nats", "observe", "route", "entity"];

/** How much to measure: call counts, runs and time caps. */
export interface BenchConfig {
  quick: boolean;
  /** Runs of every measurement; each figure is their median. */
  runs: number;
  /** Measured calls per scenario at concurrency 1 and at 64. */
  callsC1: number;
  callsC64: number;
  /**
   * Calls before measuring (JIT, connection set-up, buffer growth), or
   * `warmupMs`, whichever ends first: enough for the optimising compiler to
   * have compiled the call path of the fastest system, so that what is
   * measured is the steady state, not how quickly each system's code warms.
   */
  warmupCalls: number;
  /** Caps that bound every loop in time whatever the call count. */
  warmupMs: number;
  measureMs: number;
  /** Sequential calls timed for the in-process overhead. */
  overheadCalls: number;
  /** Time budget of each wire micro-benchmark. */
  microMs: number;
  /** Systems to run (all when empty). */
  only: string[];
  /** The scenarios of the comparison to run (all when empty): small-c1, small-c64, echo4k-c1, echo4k-c64. */
  scenarios: string[];
  /** Where each child process writes a V8 CPU profile (`--cpu-prof DIR`); none when undefined. */
  cpuProfileDir: string | undefined;
}

const USAGE = `usage: npm run bench [-- --quick] [-- --runs N] [-- --only raw,amoeba-tcp,…]

  --quick   fewer calls and 1 run (under a minute); figures are rougher
  --runs N  runs per measurement, each figure being their median (default 3)
  --scenarios small-c64,…  only these scenarios of the comparison (small-c1, small-c64,
            echo4k-c1, echo4k-c64); with --cpu-prof, a profile of one load
  --cpu-prof DIR  every server and client process writes a V8 CPU profile into
            DIR/<its label>/ (open in Chrome DevTools or speedscope); the figures
            of a profiled run are slower than unprofiled ones
  --only    comma-separated parts: raw, amoeba-tcp, amoeba-metrics, amoeba-unix,
            amoeba-inproc, grpc, moleculer, overhead, micro, balance, edge,
            nats (Amoeba on NATS vs nats.js request() and moleculer on NATS),
            observe (calls/s with tracing off, the recent-calls ring, OpenTelemetry spans),
            route (calls/s and p99 direct vs through one gateway),
            entity (entity calls vs plain unary calls on the same nodes, and a hand-off)`;

/** Reads the command line; prints usage and exits on --help or a bad option. */
export function readConfig(argv: string[]): BenchConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: "boolean", default: false },
        runs: { type: "string" },
        only: { type: "string" },
        "cpu-prof": { type: "string" },
        scenarios: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const runs = values.runs === undefined ? (quick ? 1 : 3) : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 15) {
    console.error(`--runs must be an integer from 1 to 15\n\n${USAGE}`);
    process.exit(2);
  }
  const only = values.only ? values.only.split(",").map((name) => name.trim()).filter(Boolean) : [];
  const unknown = only.filter((name) => !PARTS.includes(name));
  if (unknown.length > 0) {
    console.error(`--only: unknown ${unknown.join(", ")}; known: ${PARTS.join(", ")}\n\n${USAGE}`);
    process.exit(2);
  }
  const scenarios = values.scenarios ? values.scenarios.split(",").map((name) => name.trim()).filter(Boolean) : [];
  const unknownScenarios = scenarios.filter((id) => !SCENARIOS.some((scenario) => scenario.id === id));
  if (unknownScenarios.length > 0) {
    console.error(`--scenarios: unknown ${unknownScenarios.join(", ")}; known: ${SCENARIOS.map((scenario) => scenario.id).join(", ")}\n\n${USAGE}`);
    process.exit(2);
  }
  const cpuProfileDir = values["cpu-prof"] === undefined ? undefined : resolve(values["cpu-prof"]);
  // Children read it from the environment: every process the bench starts, by whichever part.
  if (cpuProfileDir !== undefined) process.env[CPU_PROFILE_ENV] = cpuProfileDir;
  return quick
    ? { quick, runs, callsC1: 2_000, callsC64: 8_000, warmupCalls: 2_000, warmupMs: 500, measureMs: 1_000, overheadCalls: 150_000, microMs: 80, only, scenarios, cpuProfileDir }
    : { quick, runs, callsC1: 10_000, callsC64: 150_000, warmupCalls: 100_000, warmupMs: 2_500, measureMs: 10_000, overheadCalls: 700_000, microMs: 500, only, scenarios, cpuProfileDir };
}

const CPU_PROFILE_ENV = "AMOEBA_BENCH_CPU_PROF";

/**
 * The V8 flags that make a child process labelled `label` write its CPU
 * profile under `--cpu-prof DIR` (none without it). NODE_OPTIONS may not
 * carry `--cpu-prof`, so each part passes these on its children's command line.
 */
export function cpuProfileArgs(label: string): string[] {
  const dir = process.env[CPU_PROFILE_ENV];
  if (dir === undefined) return [];
  return ["--cpu-prof", `--cpu-prof-dir=${join(dir, label.replace(/[^A-Za-z0-9._-]+/g, "-"))}`];
}
