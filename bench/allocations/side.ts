/**
 * One side of `bench/allocations/run.ts`, in its own process: `serve` starts
 * a node serving the bench contract, `call` connects to it and drives the
 * calls. Each side measures itself when told: CPU time, or allocations.
 */
import { connect, startNode } from "../../src/index.ts";
import { Bench, benchHandlers } from "../targets/amoeba-service.ts";
import { AllocationSampler } from "./sampler.ts";
import type { SideCommand, SideReport } from "./messages.ts";

const role = process.argv[2];
const tell = (report: SideReport): void => void process.send!(report);
process.on("disconnect", () => process.exit(0));

const sampler = new AllocationSampler();
let cpuBefore = process.cpuUsage();

if (role === "serve") {
  const node = await startNode({ name: "alloc-server", listen: "tcp://127.0.0.1:0" });
  node.serve(Bench, benchHandlers);
  process.on("message", async (command: SideCommand) => {
    if (command.type === "begin") {
      if (command.sample) await sampler.start();
      cpuBefore = process.cpuUsage();
      tell({ type: "begun" });
    } else if (command.type === "end") {
      const cpu = process.cpuUsage(cpuBefore);
      const allocations = command.sample ? await sampler.stop(command.calls) : undefined;
      tell({ type: "ended", cpuUsPerCall: (cpu.user + cpu.system) / command.calls, allocations });
    }
  });
  tell({ type: "ready", address: node.addresses[0]! });
} else {
  const [address, afterLarge] = [process.argv[3]!, process.argv[4] === "after-large"];
  const peer = await connect(address);
  const bench = peer.client(Bench);
  /** `calls` calls from `concurrency` workers in a closed loop. */
  const drive = async (calls: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < calls) await call(next++);
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  const small = (i: number): Promise<number> => bench.add({ a: i, b: 1 });
  await drive(100_000, 64, small);
  if (afterLarge) {
    // As `npm run bench` warms up: large calls first, then small ones again.
    const text = "x".repeat(4096);
    await drive(5_000, 16, () => bench.echo(text));
    await drive(100_000, 64, small);
  }
  tell({ type: "ready", address });
  process.on("message", async (command: SideCommand) => {
    if (command.type !== "measure") return;
    if (command.sample) await sampler.start();
    cpuBefore = process.cpuUsage();
    const started = performance.now();
    await drive(command.calls, 64, small);
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const allocations = command.sample ? await sampler.stop(command.calls) : undefined;
    tell({ type: "measured", callsPerSec: (command.calls / elapsedMs) * 1000, cpuUsPerCall: (cpu.user + cpu.system) / command.calls, allocations });
  });
}
