/**
 * What one small call costs each side in garbage and CPU time: a server and
 * a caller, each in its own process, over TCP on loopback, small `{a,b}`
 * calls at c=64 after a warm-up.
 *
 *   npm run bench:alloc -- [--calls N] [--after-large]
 *
 * First the calls are measured for CPU time per call and calls/s, then again
 * under V8's sampling heap profiler for the bytes each side allocates per
 * call, freed or not, and the functions that allocate most. `--after-large`
 * makes 5,000 calls of 4 KiB strings at c=16 between two warm-ups, as
 * `npm run bench` does before its scenarios: a call path whose garbage
 * starts to outlive the young generation after such a phase shows it here.
 * Amoeba runs from dist/, built first, as `npm run bench` does.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { useBuiltPackage } from "../lib/built-package.ts";
import type { SideCommand, SideReport } from "./messages.ts";
import type { AllocationFigures } from "./sampler.ts";

const { values } = parseArgs({ options: { calls: { type: "string", default: "300000" }, "after-large": { type: "boolean", default: false } } });
const calls = Number(values.calls);
if (!Number.isInteger(calls) || calls < 1000 || calls > 10_000_000) throw new Error("--calls: a whole number from 1,000 to 10,000,000");

useBuiltPackage((line) => console.log(line));
const SIDE = new URL("./side.ts", import.meta.url);
const start = (args: string[]): ChildProcess => fork(SIDE, args, { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });

/** The next report of `child` of type `type`, within a bound. */
async function report<T extends SideReport["type"]>(child: ChildProcess, type: T): Promise<Extract<SideReport, { type: T }>> {
  const timeout = AbortSignal.timeout(120_000);
  for (;;) {
    const [message] = (await once(child, "message", { signal: timeout })) as [SideReport];
    if (message.type === type) return message as Extract<SideReport, { type: T }>;
  }
}
const command = (child: ChildProcess, message: SideCommand): void => void child.send(message);

const server = start(["serve"]);
const { address } = await report(server, "ready");
const caller = start(["call", address, values["after-large"] ? "after-large" : ""]);
try {
  await report(caller, "ready");
  const phase = async (sample: boolean) => {
    command(server, { type: "begin", sample });
    await report(server, "begun");
    command(caller, { type: "measure", calls, sample });
    const measured = await report(caller, "measured");
    command(server, { type: "end", calls, sample });
    return { caller: measured, server: await report(server, "ended") };
  };
  const timed = await phase(false);
  const sampled = await phase(true);
  console.log(`\n${calls.toLocaleString("en-US")} small calls at c=64 over TCP${values["after-large"] ? ", after 5,000 calls of 4 KiB" : ""}:`);
  console.log(`  ${Math.round(timed.caller.callsPerSec).toLocaleString("en-US")} calls/s; CPU per call: server ${timed.server.cpuUsPerCall.toFixed(2)} µs, caller ${timed.caller.cpuUsPerCall.toFixed(2)} µs`);
  print("server", sampled.server.allocations!);
  print("caller", sampled.caller.allocations!);
} finally {
  server.kill();
  caller.kill();
}

function print(side: string, figures: AllocationFigures): void {
  console.log(`\n  ${side}: ${Math.round(figures.bytesPerCall).toLocaleString("en-US")} bytes allocated per call; most by`);
  for (const { name, bytesPerCall } of figures.top) console.log(`    ${bytesPerCall.toFixed(0).padStart(5)} B  ${name}`);
}
