import { Child } from "./children.ts";
import type { BenchConfig } from "./config.ts";
import type { Sample } from "./figures.ts";
import type { LoadPlan } from "./load.ts";
import { readCpuNs } from "./cpu.ts";
import { sampleRss } from "./rss.ts";
import type { Scenario } from "./scenarios.ts";
import type { SystemSpec } from "./systems.ts";
import type { LoadClientArgument } from "../load-client.ts";

const LOAD_CLIENT = new URL("../load-client.ts", import.meta.url);
// Start-up (tsx compiling, moleculer discovery), and the slack over each phase's own time cap.
const START_TIMEOUT = 45_000;
const SLACK = 30_000;

/** The plan of one scenario under a config. */
export function planFor(scenario: Scenario, config: BenchConfig): LoadPlan {
  return {
    concurrency: scenario.concurrency,
    calls: scenario.concurrency === 1 ? config.callsC1 : config.callsC64,
    warmupCalls: config.warmupCalls,
    warmupMs: config.warmupMs,
    maxMs: config.measureMs,
  };
}

/**
 * One system during one run: its server process (unless the client hosts the
 * server, as in-process does) and a load client process, connected once and
 * then asked to run scenario after scenario. The server's RSS and CPU time
 * are read from /proc while each scenario is measured.
 */
export class SystemRunner {
  readonly system: SystemSpec;
  readonly #tempDir: string;
  #server: Child | null = null;
  #client: Child | null = null;

  readonly #config: BenchConfig;

  constructor(system: SystemSpec, tempDir: string, config: BenchConfig) {
    this.system = system;
    this.#tempDir = tempDir;
    this.#config = config;
  }

  /** Starts the server, then the client, and waits until the client is connected. */
  async start(): Promise<void> {
    let address = "in-process";
    if (this.system.server) {
      const { file, argument } = this.system.server(this.#tempDir);
      this.#server = new Child(`${this.system.id} server`, file, argument);
      address = (await this.#server.expect("ready", START_TIMEOUT)).address;
    }
    const { warmupCalls, warmupMs } = this.#config;
    const argument: LoadClientArgument = { system: this.system.id, address, warmupCalls, warmupMs };
    this.#client = new Child(`${this.system.id} client`, LOAD_CLIENT, argument);
    await this.#client.expect("ready", START_TIMEOUT + 2 * warmupMs);
  }

  /** Runs one scenario and returns its figures with the server's peak RSS. */
  async run(run: number, scenario: Scenario, plan: LoadPlan): Promise<Sample> {
    const client = this.#client;
    if (!client) throw new Error(`${this.system.id} is not started`);
    client.send({ type: "run", scenario, plan });
    await client.expect("measuring", plan.warmupMs + SLACK);
    const serverPid = this.#server?.pid;
    const sampler = sampleRss(serverPid ?? client.pid);
    const cpuBefore = serverPid === undefined ? undefined : readCpuNs(serverPid);
    try {
      const { result } = await client.expect("result", plan.maxMs + SLACK);
      const cpuAfter = serverPid === undefined ? undefined : readCpuNs(serverPid);
      const serverCpuUs = cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / 1000 / result.calls;
      return { run, result, rssBytes: sampler.stop(), serverCpuUs };
    } finally {
      // Also on failure: the sampling must not outlive the scenario.
      sampler.stop();
    }
  }

  /** Stops the client, then the server; kills either if it lingers. */
  async stop(): Promise<void> {
    await this.#client?.stop();
    await this.#server?.stop();
    this.#client = null;
    this.#server = null;
  }
}
