import { connect, startNode } from "../../src/index.ts";
import { childArgument, fail, onStop } from "../lib/child-side.ts";
import { runLoad, type LoadPlan, type Workload } from "../lib/load.ts";
import { Bench } from "../targets/amoeba-service.ts";
import { report } from "./protocol.ts";

/** What the orchestrator passes to the caller. */
export interface FastPathArgument {
  address: string;
  rounds: number;
  load: LoadPlan;
}

// Each phase after the first warm-up starts with a few calls of its own, so
// that the switch from the other variant (its connection going quiet, this one
// waking) is not measured.
const PHASE_WARMUP_CALLS = 2_000;
const PHASE_WARMUP_MS = 300;

/**
 * The caller of "cost of balancing on the fast path": in one process, a fixed
 * connection (`connect(address)` then `peer.client(Bench)`: no balancer) and a
 * node whose `client(Bench, { balance: { strategy: "p2c" } })` goes through
 * the balancer, both to the same server, each on its own connection. Both
 * warm up, then they take turns at the same closed loop, the first of each
 * round alternating (fixed, balanced, balanced, fixed, …).
 */
async function main(): Promise<void> {
  const { address, rounds, load } = childArgument<FastPathArgument>();
  const peer = await connect(address);
  const node = await startNode({ name: "balance-fast-path-caller" });
  onStop(async () => {
    await Promise.all([peer.close(), node.close({ timeout: 500 })]);
  });
  await node.connect(address);
  const fixed = peer.client(Bench);
  const balanced = node.client(Bench, { balance: { strategy: "p2c" } });
  const variants = {
    fixed: adder((a, b) => fixed.add({ a, b })),
    balanced: adder((a, b) => balanced.add({ a, b })),
  };
  const warmup = { ...load, calls: 0, maxMs: 0 };
  for (let i = 0; i < 2; i++) for (const work of Object.values(variants)) await runLoad(work, { ...warmup, warmupCalls: load.warmupCalls / 2, warmupMs: load.warmupMs / 2 }, () => {});

  const phase = { ...load, warmupCalls: Math.min(PHASE_WARMUP_CALLS, load.warmupCalls), warmupMs: Math.min(PHASE_WARMUP_MS, load.warmupMs) };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (["fixed", "balanced"] as const) : (["balanced", "fixed"] as const);
    for (const variant of order) {
      const result = await runLoad(variants[variant], phase, () => {});
      report({ type: "fast-path", phase: { variant, round, result } });
    }
  }
  report({ type: "fast-path-done" });
}

function adder(add: (a: number, b: number) => Promise<number>): Workload {
  return { invoke: (i) => add(i, 1), check: (i, answer) => answer === i + 1 };
}

main().catch(fail);
