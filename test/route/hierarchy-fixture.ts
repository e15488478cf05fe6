/**
 * The parent's side of the many-clusters routing test: the services every
 * cluster serves (named by site), the processes that serve them, forward them
 * (one gateway a process) and call them (see hierarchy-process.ts), started
 * over IPC and killed in `t.after` whatever happened, and the figures of a
 * load's calls.
 */
import { spawn } from "node:child_process";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { NodeChild } from "../support/ipc-child.ts";
import { withTimeout } from "../lookup/faults/harness.ts";
import { percentile } from "../balance/faults/harness.ts";
import type { CallRecord, HierarchyOptions, HierarchyReady, HierarchyRequest, LoadResult } from "./hierarchy-process.ts";

export type { CallRecord, HierarchyOptions, LoadResult, Target } from "./hierarchy-process.ts";
export { siteContract, siteServices, type SiteAnswer } from "./hierarchy-services.ts";

const SCRIPT = fileURLToPath(new URL("./hierarchy-process.ts", import.meta.url));

/** One process of the test: a service node, a gateway or a caller. */
export class HierarchyChild extends NodeChild<HierarchyRequest> {
  /** Its member in each cluster it joins: gossip and calls addresses. */
  get members(): HierarchyReady["members"] {
    return (this.ready as HierarchyReady).members;
  }

  /** The gossip address of its member in `cluster`: a seed for that cluster. */
  seed(cluster: string): string {
    const member = this.members[cluster];
    if (!member) throw new Error(`${this.name} is not in cluster ${cluster}`);
    return member.gossip;
  }

  /** Names of the live instances of `service` its member in `cluster` (its only cluster by default) knows. */
  lookup(service: string, cluster?: string): Promise<string[]> {
    return this.request({ cmd: "lookup", service, ...(cluster === undefined ? {} : { cluster }) });
  }

  /** The services of `services` its member in `cluster` (its only cluster by default) knows fewer than `least` live instances of. */
  fewer(services: string[], least = 1, cluster?: string): Promise<string[]> {
    return this.request({ cmd: "fewer", services, least, ...(cluster === undefined ? {} : { cluster }) });
  }

  /** Sends SIGKILL and waits until the process is gone (at most 5 s). */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child.kill("SIGKILL");
    await withTimeout(this.exited, 5_000, `${this.name} did not exit after SIGKILL`);
  }
}

/**
 * Spawns a process (through `prefix`, e.g. `ip netns exec <ns>`) that loads
 * everything and waits; `go(seeds)` starts its node or gateway, with `seeds`
 * (per cluster) added to its options' own, and resolves once it is ready.
 * Spawning all first and starting them in waves overlaps the slow part,
 * loading the code. Killed in `t.after`.
 */
export async function spawnHierarchy(
  t: TestContext,
  options: HierarchyOptions,
  env: NodeJS.ProcessEnv,
  prefix: string[] = [],
): Promise<{ go(seeds?: Record<string, string[]>): Promise<HierarchyChild> }> {
  const [command, ...args] = [...prefix, process.execPath, "--import", "tsx", SCRIPT, JSON.stringify(options)];
  const child = spawn(command!, args, { stdio: ["ignore", "inherit", "inherit", "ipc"], env });
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await withTimeout(exited, 5_000, `${options.name} did not exit after SIGKILL`).catch(() => {});
  });
  const message = <T>(type: string, ms: number): Promise<T> =>
    withTimeout(
      new Promise<T>((resolve, reject) => {
        child.on("message", (each: { type?: string }) => {
          if (each?.type === type) resolve(each as T);
        });
        child.once("error", reject);
        void exited.then((how) => reject(new Error(`${options.name} exited (${how}) before it was ${type}`)));
      }),
      ms,
      `${options.name} was not ${type} within ${ms} ms`,
    );
  // A loaded 2-core machine takes a while to start node with tsx, twenty times over.
  await message("standby", 40_000);
  return {
    go: async (seeds = {}) => {
      const ready = message<HierarchyReady>("ready", 20_000);
      child.send({ go: true, seeds });
      return new HierarchyChild(options.role, child, await ready, exited);
    },
  };
}

/** Latency figures of calls, in ms. */
export interface Latency {
  calls: number;
  p50: number;
  p99: number;
  max: number;
}

export function latency(records: readonly CallRecord[]): Latency {
  const times = records.map((r) => r.ms);
  return { calls: records.length, p50: percentile(times, 0.5), p99: percentile(times, 0.99), max: times.length === 0 ? NaN : times.reduce((a, b) => Math.max(a, b), -Infinity) };
}

/** `p50 1.2 / p99 3.4 ms`, for the printed figures. */
export function showLatency({ p50, p99 }: Latency): string {
  return `p50 ${p50.toFixed(1)} / p99 ${p99.toFixed(1)} ms`;
}

/** The records of a load with absolute times: when each began and ended, in ms since the epoch. */
export function absolute(result: LoadResult): Array<CallRecord & { at: number; end: number }> {
  return result.records.map((record) => ({ ...record, at: result.t0 + record.start, end: result.t0 + record.start + record.ms }));
}
