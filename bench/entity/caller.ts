/**
 * The caller of the entity benchmark, in its own process: a member of the
 * servers' cluster that loads the plain counter (balanced over both nodes)
 * and the entity counter (each call to its key's owner), in turns, then
 * measures a hand-off: node a closes while the entity load goes on.
 */
import { performance } from "node:perf_hooks";
import { startNode } from "../../src/index.ts";
import { entities } from "../../src/entity/index.ts";
import { EntityCounter, PlainCounter, type EntityLoad, type EntityPlan, type HandOff } from "./contracts.ts";

const plan = JSON.parse(process.argv[2]!) as EntityPlan;
const node = await startNode({ name: "bench-entity-caller", cluster: plan.cluster, drainTimeout: 1_000 });
for (const until = Date.now() + 30_000; node.lookup(PlainCounter).length < 2 || node.lookup(EntityCounter).length < 2; ) {
  if (Date.now() > until) throw new Error("the two servers never showed in the look-up");
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const plain = node.client(PlainCounter);
const counters = entities(node, EntityCounter);
const keys = Array.from({ length: plan.keys }, (_, i) => `key-${i}`);

type Call = (i: number) => Promise<unknown>;
const calls: Record<"plain" | "entity", Call> = {
  plain: () => plain.add({ by: 1 }, { timeout: 10_000 }),
  entity: (i) => counters.for(keys[i % keys.length]!).add({ by: 1 }, { timeout: 10_000 }),
};

/** `concurrency` callers for `ms` (bounded by time); caller c takes keys c, c + concurrency, … so no two share a key. */
async function load(call: Call, ms: number): Promise<EntityLoad> {
  const latencies: number[] = [];
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: plan.concurrency }, async (_, c) => {
      for (let i = c; performance.now() < end; i += plan.concurrency) {
        const started = performance.now();
        await call(i);
        latencies.push(performance.now() - started);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
  return { callsPerSecond: latencies.length / (ms / 1000), p50: at(0.5), p99: at(0.99) };
}

/** Entity load while node a closes: how long the calls in flight then went on, and what failed. */
async function handOff(): Promise<HandOff> {
  let closeAt = Infinity;
  let done = false;
  let failed = 0;
  const caught: number[] = [];
  const closed = new Promise<{ keys: number }>((resolve) => process.once("message", resolve));
  const workers = Array.from({ length: plan.concurrency }, async (_, c) => {
    for (let i = c; !done; i += plan.concurrency) {
      const started = performance.now();
      try {
        await calls.entity(i);
        const ended = performance.now();
        if (started <= closeAt && ended > closeAt) caught.push(ended - closeAt);
      } catch {
        failed++;
      }
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  closeAt = performance.now();
  process.send!({ close: "a" });
  const { keys: held } = await closed;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  done = true;
  await Promise.all(workers);
  caught.sort((a, b) => a - b);
  return { keys: held, caught: caught.length, medianMs: caught[Math.floor(caught.length / 2)] ?? 0, maxMs: caught.at(-1) ?? 0, failed };
}

await load(calls.plain, plan.warmupMs);
await load(calls.entity, plan.warmupMs);
const results: { plain: EntityLoad[]; entity: EntityLoad[] } = { plain: [], entity: [] };
for (let run = 0; run < plan.runs; run++) {
  const order = run % 2 === 0 ? (["plain", "entity"] as const) : (["entity", "plain"] as const);
  for (const way of order) results[way].push(await load(calls[way], plan.seconds * 1000));
}
const handoff = await handOff();
process.send!({ results, handoff });
await node.close();
process.exit(0);
