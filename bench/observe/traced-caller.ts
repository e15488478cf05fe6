import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { context } from "@opentelemetry/api";
import { connect, type Peer } from "../../src/index.ts";
import { childArgument, fail, onStop } from "../lib/child-side.ts";
import { readCpuNs } from "../lib/cpu.ts";
import { runLoad, type LoadPlan, type Workload } from "../lib/load.ts";
import { Bench } from "../targets/amoeba-service.ts";
import { report } from "./protocol.ts";
import { PASSED_META, registerDroppingSdk, TRACE_VARIANTS, tracesOf, type TraceVariant } from "./variants.ts";

/** What the orchestrator passes to the caller: each variant's server, and how much to measure. */
export interface TracedCallerArgument {
  addresses: Record<TraceVariant, string>;
  /** The servers' process ids, to read their CPU time. */
  pids: Record<TraceVariant, number>;
  rounds: number;
  load: LoadPlan;
}

// Each phase after the first warm-up starts with a few calls of its own, so
// that the switch from another variant is not measured.
const PHASE_WARMUP_CALLS = 2_000;
const PHASE_WARMUP_MS = 300;

/**
 * The caller of the tracing bench: one process with an OpenTelemetry SDK
 * registered, and per variant a connection (`connect(address, { traces })`)
 * to that variant's server, so both ends of each call trace alike. The
 * variants take turns at the same closed loop, their order rotating each round.
 */
async function main(): Promise<void> {
  const { addresses, pids, rounds, load } = childArgument<TracedCallerArgument>();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  registerDroppingSdk();
  const peers: Partial<Record<TraceVariant, Peer>> = {};
  onStop(async () => {
    await Promise.all(Object.values(peers).map((peer) => peer.close()));
  });
  const work = {} as Record<TraceVariant, Workload>;
  for (const variant of TRACE_VARIANTS) {
    const peer = await connect(addresses[variant], { name: `bench-traced-caller-${variant}`, traces: tracesOf(variant) });
    peers[variant] = peer;
    const bench = peer.client(Bench);
    const options = variant === "passthrough" ? { meta: PASSED_META } : undefined;
    work[variant] = { invoke: (i) => bench.add({ a: i, b: 1 }, options), check: (i, answer) => answer === i + 1 };
  }
  const warmup = { ...load, calls: 0, maxMs: 0 };
  for (let i = 0; i < 2; i++) {
    for (const variant of TRACE_VARIANTS) await runLoad(work[variant], { ...warmup, warmupCalls: load.warmupCalls / 2, warmupMs: load.warmupMs / 2 }, () => {});
  }
  const phase = { ...load, warmupCalls: Math.min(PHASE_WARMUP_CALLS, load.warmupCalls), warmupMs: Math.min(PHASE_WARMUP_MS, load.warmupMs) };
  for (let round = 0; round < rounds; round++) {
    const order = TRACE_VARIANTS.map((_, i) => TRACE_VARIANTS[(i + round) % TRACE_VARIANTS.length]!);
    for (const variant of order) {
      let serverCpuBefore: number | undefined;
      const result = await runLoad(work[variant], phase, () => (serverCpuBefore = readCpuNs(pids[variant])));
      const serverCpuAfter = readCpuNs(pids[variant]);
      const serverCpuUs = serverCpuBefore === undefined || serverCpuAfter === undefined ? Number.NaN : (serverCpuAfter - serverCpuBefore) / 1000 / result.calls;
      report({ type: "traced-phase", phase: { variant, round, result, serverCpuUs } });
    }
  }
  report({ type: "traced-done" });
}

main().catch(fail);
