import { monitorEventLoopDelay } from "node:perf_hooks";
import { startNode } from "../../src/index.ts";
import { childArgument, fail, onStop } from "../lib/child-side.ts";
import { summarize } from "../lib/stats.ts";
import { Spread } from "./contract.ts";
import { runPaced, type PacedPlan } from "./paced-load.ts";
import { report, type StrategySample } from "./protocol.ts";

/** What the orchestrator passes to the caller. */
export interface StrategyCallerArgument {
  /** The instances' addresses, and which instance name is the slow one. */
  addresses: string[];
  slowName: string;
  runs: number;
  load: PacedPlan;
}

export const STRATEGIES = ["p2c", "round-robin", "random"] as const;

/**
 * The caller of "strategies under a slow instance". For each run and each
 * strategy (in an order that rotates per run), a fresh node `connect()`s to
 * every instance and starts calls at the same fixed rate through
 * `node.client(Spread, { balance: { strategy } })`, so no strategy inherits
 * another's latency estimates or connections, and each does the same work in
 * the same time. Every answer names the instance that ran the call; the counts
 * say where the calls went.
 */
async function main(): Promise<void> {
  const { addresses, slowName, runs, load } = childArgument<StrategyCallerArgument>();
  let closeCurrent: (() => Promise<void>) | null = null;
  onStop(() => closeCurrent?.());
  // The process's own warm-up (JIT, buffers), on a node thrown away after it, so
  // that the first strategy measured does not pay for it alone.
  {
    const node = await startNode({ name: "balance-caller-warm-up" });
    closeCurrent = () => node.close({ timeout: 500 });
    await Promise.all(addresses.map((address) => node.connect(address)));
    for (const strategy of STRATEGIES) {
      const client = node.client(Spread, { balance: { strategy } });
      await runPaced({ invoke: (i) => client.work({ i }), check: (_i, answer) => typeof answer === "string" }, { ...load, calls: 0, maxMs: 0 }, () => {});
    }
    await node.close({ timeout: 500 });
    closeCurrent = null;
  }
  for (let run = 0; run < runs; run++) {
    const order = STRATEGIES.map((_, i) => STRATEGIES[(i + run) % STRATEGIES.length]!);
    for (const [position, strategy] of order.entries()) {
      const node = await startNode({ name: `balance-caller-${strategy}-${run}` });
      closeCurrent = () => node.close({ timeout: 500 });
      await Promise.all(addresses.map((address) => node.connect(address)));
      const client = node.client(Spread, { balance: { strategy } });
      const counts = new Map<string, number>();
      // When call i started, and the latencies of the calls the fast instances answered.
      const startedAt = new Float64Array(Math.max(load.calls, load.warmupCalls));
      const fastLatencies = new Float64Array(load.calls);
      let fastCalls = 0;
      const loopDelay = monitorEventLoopDelay({ resolution: 5 });
      const result = await runPaced(
        {
          invoke: (i) => {
            startedAt[i] = performance.now();
            return client.work({ i });
          },
          check: (i, answer) => {
            if (typeof answer !== "string") return false;
            counts.set(answer, (counts.get(answer) ?? 0) + 1);
            if (answer !== slowName && fastCalls < fastLatencies.length) fastLatencies[fastCalls++] = (performance.now() - startedAt[i]!) * 1000;
            return true;
          },
        },
        load,
        // The warm-up's calls are not counted.
        () => {
          counts.clear();
          fastCalls = 0;
          loopDelay.enable();
        },
      );
      loopDelay.disable();
      const estimatesMs: Record<string, number> = {};
      for (const instance of node.stats().services.find((service) => service.service === Spread.name)?.instances ?? []) estimatesMs[instance.node] = instance.ewmaMs;
      await node.close({ timeout: 500 });
      closeCurrent = null;
      const perInstance = Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1)));
      const sample: StrategySample = {
        strategy,
        run,
        position,
        result,
        perInstance,
        slowShare: (counts.get(slowName) ?? 0) / Math.max(1, result.calls),
        fastOnlyP99Us: summarize(fastLatencies, fastCalls).p99,
        estimatesMs,
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
        loopDelayMaxMs: loopDelay.max / 1e6,
      };
      report({ type: "strategy", sample });
    }
  }
  report({ type: "strategies-done" });
}

main().catch(fail);
