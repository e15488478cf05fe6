/**
 * The parent's side of the balancing fault tests: server processes (see
 * server-process.ts) that find the caller by look-up, a caller node in the
 * test process, load that is bounded in count and time, and the figures to
 * check afterwards. Each test gets its own cluster name and its own folder
 * (rendezvous and execution journals); every child is killed in `t.after`
 * whatever happened.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { NodeChild } from "../../support/ipc-child.ts";
import { fileURLToPath } from "node:url";
import { FAST_MEMBERSHIP_CONFIG } from "../../../src/lookup/membership/index.ts";
import { isRpcError, startNode, type Node, type NodeOptions } from "../../../src/index.ts";
import { sleep, waitFor, withTimeout } from "../../lookup/faults/harness.ts";
import { Probe } from "../fixture.ts";
import type { ReadyMessage, ServerBehaviour, ServerCounts, ServerOptions, ServerRequest } from "./server-process.ts";

export { sleep, waitFor, withTimeout };
export type { ServerBehaviour, ServerCounts };

const SERVER_SCRIPT = fileURLToPath(new URL("./server-process.ts", import.meta.url));
const silent = { debug() {}, info() {}, warn() {}, error() {} };

let fixtures = 0;
let journals = 0;

/** One server process. */
export class Server extends NodeChild<ServerRequest> {
  constructor(child: ChildProcess, ready: ReadyMessage, exited: Promise<string>) {
    super("server", child, ready, exited);
  }

  /** Changes how it answers from now on. */
  set(behaviour: Partial<ServerBehaviour>): Promise<void> {
    return this.request({ cmd: "set", behaviour });
  }

  counts(): Promise<ServerCounts> {
    return this.request({ cmd: "counts" });
  }

  /** Sends `signal` (default SIGKILL) and waits until the process is gone (a SIGTERM drains first). */
  async kill(signal: NodeJS.Signals = "SIGKILL", limitMs = 10_000): Promise<string> {
    if (!this.alive) return this.exited;
    this.child.kill(signal);
    return withTimeout(this.exited, limitMs, `server ${this.name} did not exit within ${limitMs} ms of ${signal}`);
  }
}

export type ServerStart = Omit<ServerOptions, "cluster" | "journal" | "standby">;

/** One test's cluster: its folder, servers and caller, all cleaned up in `t.after`. */
export class Fixture {
  readonly cluster: string;
  readonly dir: string;
  readonly #children = new Set<ChildProcess>();
  readonly #callers: Node[] = [];
  readonly #previousRendezvous = process.env.AMOEBA_RENDEZVOUS_DIR;

  constructor(t: TestContext, tag: string) {
    this.cluster = `balance-faults-${process.pid}-${++fixtures}-${tag}`;
    this.dir = mkdtempSync(join(tmpdir(), `amoeba-balance-faults-${process.pid}-`));
    mkdirSync(this.rendezvousDir);
    t.after(() => this.cleanup());
  }

  get rendezvousDir(): string {
    return join(this.dir, "rendezvous");
  }

  /**
   * The caller: a node of the cluster in the test process, serving nothing (or
   * its calls would stay local), finding the servers by look-up.
   */
  async caller(options: Omit<NodeOptions, "cluster" | "lookup"> = {}): Promise<Node> {
    // Read by the look-up while the caller runs; tests of one file run one at a time.
    process.env.AMOEBA_RENDEZVOUS_DIR = this.rendezvousDir;
    const node = await startNode({
      name: "caller",
      logger: silent,
      ...options,
      cluster: this.cluster,
      lookup: { gossip: "udp://127.0.0.1:0", membership: FAST_MEMBERSHIP_CONFIG },
    });
    this.#callers.push(node);
    return node;
  }

  /** Spawns a server that loads everything, then waits: `go()` starts its node within milliseconds. */
  async prepare(options: ServerStart): Promise<{ go(): Promise<Server> }> {
    const full: ServerOptions = {
      ...options,
      cluster: this.cluster,
      journal: join(this.dir, `journal-${options.name}-${++journals}.log`),
      standby: true,
    };
    const child = spawn(process.execPath, ["--import", "tsx", SERVER_SCRIPT, JSON.stringify(full)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: { ...process.env, AMOEBA_RENDEZVOUS_DIR: this.rendezvousDir },
    });
    this.#children.add(child);
    const exited = new Promise<string>((resolve) => {
      child.once("exit", (code, signal) => {
        this.#children.delete(child);
        resolve(signal ?? `code ${code}`);
      });
    });
    const message = (type: string): Promise<ReadyMessage> =>
      withTimeout(
        new Promise<ReadyMessage>((resolve, reject) => {
          child.on("message", (m: { type?: string }) => {
            if (m?.type === type) resolve(m as ReadyMessage);
          });
          child.once("error", reject);
          void exited.then((how) => reject(new Error(`server ${options.name} exited (${how}) before it was ${type}`)));
        }),
        30_000,
        `server ${options.name} was not ${type} within 30 s`,
      );
    await message("standby");
    return {
      go: async () => {
        const ready = message("ready");
        child.send({ go: true });
        return new Server(child, await ready, exited);
      },
    };
  }

  async start(options: ServerStart): Promise<Server> {
    return (await this.prepare(options)).go();
  }

  /** Starts `count` servers named `<prefix><i>` at once. */
  startAll(prefix: string, count: number, options: Omit<ServerStart, "name"> = {}): Promise<Server[]> {
    return Promise.all(Array.from({ length: count }, (_, i) => this.start({ ...options, name: `${prefix}${i}` })));
  }

  /** Executions of every server process of the test, from their journals: `<method> <key>` → count. */
  executions(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const file of readdirSync(this.dir)) {
      if (!file.startsWith("journal-")) continue;
      for (const line of readFileSync(join(this.dir, file), "utf8").split("\n")) {
        if (line) counts.set(line, (counts.get(line) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** Closes the callers, kills every server still running (SIGKILL) and removes the folder. */
  async cleanup(): Promise<void> {
    await Promise.all(this.#callers.map((node) => withTimeout(node.close({ timeout: 500 }), 5_000, "closing the caller").catch(() => {})));
    await Promise.all(
      [...this.#children].map(async (child) => {
        const gone = new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) resolve();
          else child.once("exit", () => resolve());
        });
        child.kill("SIGKILL");
        await withTimeout(gone, 5_000, `a server (pid ${child.pid}) did not exit after SIGKILL`).catch(() => {});
      }),
    );
    if (this.#previousRendezvous === undefined) delete process.env.AMOEBA_RENDEZVOUS_DIR;
    else process.env.AMOEBA_RENDEZVOUS_DIR = this.#previousRendezvous;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits until `caller`'s look-up lists exactly `servers` (by id) as live instances of Probe. */
export function instancesSeen(caller: Node, servers: readonly Server[], limitMs = 15_000): Promise<number> {
  const want = new Set(servers.map((s) => s.id));
  return waitFor(
    `the caller to see exactly ${servers.map((s) => s.name).join(", ")}`,
    () => {
      const live = caller.lookup(Probe).filter((i) => i.state === "alive");
      return live.length === want.size && live.every((i) => want.has(i.node.id));
    },
    limitMs,
    { describe: () => caller.lookup(Probe).map((i) => `${i.node.name}(${i.node.id.slice(0, 8)}):${i.state}`).join(" ") },
  );
}

/** One call as the caller saw it. */
export interface CallRecord {
  /** Its number in the run. */
  i: number;
  method: "who" | "apply";
  key: string;
  /** performance.now() at its start and end, ms. */
  start: number;
  end: number;
  ok: boolean;
  /** The node that answered, on success. */
  node?: string;
  code?: string;
  unprocessed?: boolean;
  /** Instances the balancer tried, on failure. */
  tried?: number;
  message?: string;
}

/** Runs one call and records how it ended; never rejects. */
export async function record(i: number, method: "who" | "apply", key: string, call: () => Promise<string>): Promise<CallRecord> {
  const start = performance.now();
  try {
    const node = await call();
    return { i, method, key, start, end: performance.now(), ok: true, node };
  } catch (error) {
    const end = performance.now();
    if (!isRpcError(error)) return { i, method, key, start, end, ok: false, code: "THROWN", message: String(error) };
    return { i, method, key, start, end, ok: false, code: error.code, unprocessed: error.unprocessed, tried: error.tried?.length ?? 1, message: error.message };
  }
}

/**
 * Offers `count` calls at `ratePerSecond`, with at most `maxInFlight` at once
 * (a call waits for a free slot, so a slow spell lowers the rate rather than
 * piling calls up). Bounded: `count` calls at most, each with its own timeout.
 */
export async function drive(options: {
  ratePerSecond: number;
  count: number;
  maxInFlight: number;
  call: (i: number) => Promise<CallRecord>;
  /** Called with each record as it ends. */
  onRecord?: (record: CallRecord) => void;
  /** Stops offering calls (those in flight still end). */
  signal?: AbortSignal;
}): Promise<CallRecord[]> {
  const records: CallRecord[] = [];
  const running = new Set<Promise<void>>();
  const period = 1_000 / options.ratePerSecond;
  const begin = performance.now();
  for (let i = 0; i < options.count && !options.signal?.aborted; i++) {
    const due = begin + i * period;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    while (running.size >= options.maxInFlight) await Promise.race(running);
    const done: Promise<void> = options.call(i).then((r) => {
      records.push(r);
      options.onRecord?.(r);
      running.delete(done);
    });
    running.add(done);
  }
  await Promise.all(running);
  return records.sort((a, b) => a.i - b.i);
}

/** Counts by a key. */
export function tally<T>(items: Iterable<T>, key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** The number with one decimal, for messages. */
export function ms(value: number): string {
  return value.toFixed(1);
}
