/**
 * The caller of the gateway-hop benchmark, in its own process: a node in the
 * near cluster loads `calculator.add` straight at the service (a connection
 * to its address) and through the gateway (found by look-up), in turns,
 * and reports calls/s and latency percentiles of each load.
 */
import { Calculator } from "../../examples/calculator/contract.ts";
import { connect, startNode } from "../../src/index.ts";
import type { HopLoad, HopPlan } from "./run.ts";

const plan = JSON.parse(process.argv[2]!) as HopPlan;
// Stopped by the parent once it has the figures: exit, so that a profile asked for with --cpu-prof is written.
process.on("SIGTERM", () => process.exit(0));
const node = await startNode({ name: "bench-hop-caller", cluster: plan.cluster, drainTimeout: 1_000 });
const seen = Date.now() + 30_000;
while (node.lookup(Calculator).length === 0) {
  if (Date.now() > seen) throw new Error("the gateway's route never appeared");
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const peer = await connect(plan.address);
const clients = { direct: peer.client(Calculator), gateway: node.client(Calculator) };

/** `concurrency` callers for `ms` milliseconds (bounded by time, whatever the rate). */
async function load(client: typeof clients.direct, ms: number): Promise<HopLoad> {
  const latencies: number[] = [];
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: plan.concurrency }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        await client.add({ a: 1, b: 2 }, { timeout: 10_000 });
        latencies.push(performance.now() - started);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
  return { callsPerSecond: latencies.length / (ms / 1000), p50: at(0.5), p99: at(0.99) };
}

await load(clients.direct, plan.warmupMs);
await load(clients.gateway, plan.warmupMs);
const results: { direct: HopLoad[]; gateway: HopLoad[] } = { direct: [], gateway: [] };
for (let run = 0; run < plan.runs; run++) {
  // Alternate which goes first: neither always meets a warmer machine.
  const order = run % 2 === 0 ? (["direct", "gateway"] as const) : (["gateway", "direct"] as const);
  for (const way of order) results[way].push(await load(clients[way], plan.seconds * 1000));
}
process.send!(results);
await peer.close();
await node.close();
process.exit(0);
