import { childArgument, fail, onRun, onStop, tell } from "./lib/child-side.ts";
import { runLoad, type Workload } from "./lib/load.ts";
import { ECHO_TEXT, type Payload } from "./lib/scenarios.ts";
import { systemById } from "./lib/systems.ts";
import type { Caller } from "./targets/caller.ts";

/** What the orchestrator passes to a load client process. */
export interface LoadClientArgument {
  system: string;
  address: string;
  /** The first warm-up, before reporting ready: calls per payload and a time cap. */
  warmupCalls: number;
  warmupMs: number;
}

// Concurrency of the first warm-up: high enough to be quick even on a slow system.
const FIRST_WARMUP_CONCURRENCY = 16;

/**
 * The generic load client: connects one system's client to its server, then
 * runs the scenarios the orchestrator asks for and reports the figures. The
 * same loop drives every system, so differences come from the systems, not
 * the harness.
 */
async function main(): Promise<void> {
  const { system, address, warmupCalls, warmupMs } = childArgument<LoadClientArgument>();
  const openCaller = await systemById(system).openCaller();
  const caller = await openCaller(address);
  onStop(() => caller.close());
  // Code paths take thousands of calls to reach steady speed (JIT tiers); the
  // first scenario must not pay for that alone.
  for (const payload of ["small", "echo4k"] as const) {
    const plan = { concurrency: FIRST_WARMUP_CONCURRENCY, calls: 0, warmupCalls, warmupMs, maxMs: 0 };
    await runLoad(workload(caller, payload), plan, () => {});
  }
  onRun(async ({ scenario, plan }) => {
    const result = await runLoad(workload(caller, scenario.payload), plan, () => tell({ type: "measuring", scenario: scenario.id }));
    tell({ type: "result", scenario: scenario.id, result });
  });
  tell({ type: "ready", address });
}

function workload(caller: Caller, payload: Payload): Workload {
  if (payload === "small") {
    return { invoke: (i) => caller.add(i, 1), check: (i, answer) => answer === i + 1 };
  }
  return { invoke: () => caller.echo(ECHO_TEXT), check: (_i, answer) => answer === ECHO_TEXT };
}

main().catch(fail);
