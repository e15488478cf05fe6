/**
 * One server of the balancing fault tests, in its own process.
 *
 * Started by the parent (see harness.ts) with its options as JSON in argv[2]:
 * it joins the test's cluster with the fast membership timings (finding the
 * others through the test's rendezvous folder), serves the Probe contract of
 * test/balance/fixture.ts, and sends the parent `{ type: "ready", … }` over IPC.
 * Then it answers requests over IPC: change its behaviour (slow, failing) and
 * report its counts and memory.
 *
 * Every execution is appended to a journal file with a synchronous write before
 * the handler goes on, so that executions of a process killed with SIGKILL are
 * still counted: the parent reads the journals, not the process.
 *
 * SIGTERM drains (`node.close()`: calls in flight finish, new ones are refused
 * as unprocessed) and then exits. The process exits when the parent goes away.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { FAST_MEMBERSHIP_CONFIG, type MembershipConfig } from "../../../src/lookup/membership/index.ts";
import { RpcError, startNode, type Handlers, type Node } from "../../../src/index.ts";
import { Probe } from "../fixture.ts";
import { runIpcChild, type NodeReadyMessage } from "../../support/ipc-child.ts";

/** How the server answers; changed at runtime with `set`. */
export interface ServerBehaviour {
  /** Time each call takes, ms. */
  delayMs: number;
  /** Up to this much more, drawn uniformly per call, ms. */
  jitterMs: number;
  /** Share of calls that fail with INTERNAL (0..1), taken in turn, not at random. */
  failShare: number;
  /** Fail every call with this code (after the delay). */
  failWith?: "UNAVAILABLE" | "INTERNAL" | undefined;
}

/** What the parent passes in argv[2], as JSON. */
export interface ServerOptions {
  name: string;
  cluster: string;
  /** RPC listen address. Default `tcp://127.0.0.1:0`. */
  listen?: string;
  /** Gossip address. Default `udp://127.0.0.1:0`. */
  gossip?: string;
  /** The node's `concurrency` (calls served at once). Default: no limit. */
  concurrency?: number;
  /** How long a SIGTERM drain may take, ms. Default 5 000. */
  drainTimeout?: number;
  /** Where each execution is appended as `<method> <key>\n`. */
  journal: string;
  behaviour?: Partial<ServerBehaviour>;
  /** Labels of the node (`host` is added). */
  labels?: Record<string, string>;
  /** Overrides of the fast membership timings. */
  membership?: Partial<MembershipConfig>;
  /** Load everything, say `{ type: "standby" }`, and start only on `{ go: true }` (a restart in milliseconds). */
  standby?: boolean;
}

/** The first message to the parent. */
export type ReadyMessage = NodeReadyMessage;

/** What `counts` answers. */
export interface ServerCounts {
  /** Handler runs since start, all methods. */
  executions: number;
  /** Handler runs that ended in an error. */
  failed: number;
  /** Handlers running now, and the most that ever ran at once. */
  running: number;
  maxRunning: number;
  /** Calls the node refused for its concurrency limit. */
  shed: number;
  /** Resident set size now and the highest sampled (every 50 ms), bytes. */
  rss: number;
  maxRss: number;
  heapUsed: number;
}

export type ServerRequest = { cmd: "set"; behaviour: Partial<ServerBehaviour> } | { cmd: "counts" };

const silent = { debug() {}, info() {}, warn() {}, error() {} };

const options = JSON.parse(process.argv[2] ?? "{}") as ServerOptions;
const behaviour: ServerBehaviour = { delayMs: 0, jitterMs: 0, failShare: 0, ...options.behaviour };
const journal = openSync(options.journal, "a");
let node: Node | undefined;
let executions = 0;
let failed = 0;
let running = 0;
let maxRunning = 0;
let failTurn = 0;
let maxRss = process.memoryUsage.rss();

process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => void drainAndExit());

async function drainAndExit(): Promise<void> {
  const timer = setTimeout(() => process.exit(0), (options.drainTimeout ?? 5_000) + 2_000);
  timer.unref();
  await node?.close({ timeout: options.drainTimeout ?? 5_000 }).catch(() => {});
  closeSync(journal);
  process.exit(0);
}

async function run(method: string, key: string | undefined, signal: AbortSignal): Promise<string> {
  executions++;
  // Synchronous: once the handler goes on, the execution is on record even if the process is killed.
  writeSync(journal, `${method} ${key ?? "-"}\n`);
  running++;
  if (running > maxRunning) maxRunning = running;
  try {
    const wait = behaviour.delayMs + Math.random() * behaviour.jitterMs;
    if (wait > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (behaviour.failWith) throw new RpcError(behaviour.failWith, `${options.name} fails everything`);
    failTurn += behaviour.failShare;
    if (failTurn >= 1) {
      failTurn -= 1;
      throw new RpcError("INTERNAL", `${options.name} failed this one`);
    }
    return options.name;
  } catch (error) {
    failed++;
    throw error;
  } finally {
    running--;
  }
}

const handlers: Handlers<typeof Probe> = {
  who: ({ key }, ctx) => run("who", key, ctx.signal),
  apply: ({ key }, ctx) => run("apply", key, ctx.signal),
};

async function main(): Promise<void> {
  node = await startNode({
    name: options.name,
    cluster: options.cluster,
    listen: options.listen ?? "tcp://127.0.0.1:0",
    logger: silent,
    drainTimeout: options.drainTimeout ?? 5_000,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.labels === undefined ? {} : { labels: options.labels }),
    lookup: {
      gossip: options.gossip ?? "udp://127.0.0.1:0",
      membership: { ...FAST_MEMBERSHIP_CONFIG, ...options.membership },
    },
  });
  node.serve(Probe, handlers);
  setInterval(() => {
    maxRss = Math.max(maxRss, process.memoryUsage.rss());
  }, 50).unref();
  process.on("message", (message: { seq?: number; request?: ServerRequest }) => {
    if (typeof message?.seq === "number" && message.request) answer(message.seq, message.request);
  });
  process.send?.({
    type: "ready",
    id: node.id,
    name: node.name,
    pid: process.pid,
    gossip: node.gossipAddress,
    addresses: node.addresses,
  } satisfies ReadyMessage);
}

function answer(seq: number, request: ServerRequest): void {
  switch (request.cmd) {
    case "set":
      Object.assign(behaviour, request.behaviour);
      failTurn = 0;
      process.send?.({ seq, ok: true, result: null });
      return;
    case "counts": {
      const memory = process.memoryUsage();
      maxRss = Math.max(maxRss, memory.rss);
      const result: ServerCounts = {
        executions,
        failed,
        running,
        maxRunning,
        shed: node?.admission.shed ?? 0,
        rss: memory.rss,
        maxRss,
        heapUsed: memory.heapUsed,
      };
      process.send?.({ seq, ok: true, result });
      return;
    }
  }
}

runIpcChild(`server ${options.name}`, options.standby, main);
