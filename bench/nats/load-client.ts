import { childArgument, fail, onRun, onStop, tell } from "../lib/child-side.ts";
import { runLoad, type Workload } from "../lib/load.ts";
import type { Caller } from "../targets/caller.ts";
import { natsSystemById } from "./systems.ts";

/** What the NATS orchestrator passes to a load client process. */
export interface NatsLoadClientArgument {
  system: string;
  natsUrl: string;
  /** What the system's server reported (Amoeba: its nats:// address). */
  serverAddress: string;
  warmupCalls: number;
  warmupMs: number;
}

// Concurrency of the first warm-up: high enough to be quick even on a slow system.
const FIRST_WARMUP_CONCURRENCY = 16;

/**
 * The load client of the NATS comparison: the same closed loop as the main
 * comparison's (lib/load.ts), on the small `{a, b}` → sum call.
 */
async function main(): Promise<void> {
  const { system, natsUrl, serverAddress, warmupCalls, warmupMs } = childArgument<NatsLoadClientArgument>();
  const open = await natsSystemById(system).openCaller();
  const caller = await open(natsUrl, serverAddress);
  onStop(() => caller.close());
  await runLoad(small(caller), { concurrency: FIRST_WARMUP_CONCURRENCY, calls: 0, warmupCalls, warmupMs, maxMs: 0 }, () => {});
  onRun(async ({ scenario, plan }) => {
    const result = await runLoad(small(caller), plan, () => tell({ type: "measuring", scenario: scenario.id }));
    tell({ type: "result", scenario: scenario.id, result });
  });
  tell({ type: "ready", address: serverAddress });
}

function small(caller: Caller): Workload {
  return { invoke: (i) => caller.add(i, 1), check: (i, answer) => answer === i + 1 };
}

main().catch(fail);
