/**
 * One cluster member in its own process, for the look-up fault tests.
 *
 * Started by the parent (see harness.ts) with its options as JSON in argv[2]:
 * it starts a node with the fast membership timings, serves the calculator
 * (unless told not to) and the small Marker service, and sends the parent one
 * IPC message `{ type: "ready", … }` with its id, gossip and RPC addresses.
 * Then it answers requests over IPC: its view (`members`, `lookup`), every
 * change it saw, calls through `node.client()`, and a CPU-starving busy loop.
 *
 * Every member serves Marker, so that a watch on it sees the state of every
 * member — callers included — as each membership event happens (polling
 * `members()` could miss a short trip to "dead" and back).
 *
 * It exits when the parent goes away (the IPC channel closes), so that no
 * member outlives a test.
 */
import { z } from "zod";
import { Calculator, handlers as calculatorHandlers } from "../../../examples/calculator/service.ts";
import { FAST_MEMBERSHIP_CONFIG, type MembershipConfig } from "../../../src/lookup/membership/index.ts";
import { serveRegistry } from "../../../src/lookup/registry/server.ts";
import type { Instance } from "../../../src/lookup/types.ts";
import { contract, startNode, unary, type Node } from "../../../src/index.ts";
import { runIpcChild, type NodeReadyMessage } from "../../support/ipc-child.ts";

/** Served by every member: a watch on it sees every member. */
export const Marker = contract("fault-marker", "1.0.0", {
  who: unary({ input: z.object({}), output: z.string(), idempotent: true }),
});

/** What the parent passes in argv[2], as JSON. */
export interface MemberOptions {
  name: string;
  /** Unset for a registry server, which joins no look-up. */
  cluster?: string;
  /** RPC listen address. Default `tcp://127.0.0.1:0`. */
  listen?: string;
  /** Gossip address. Default `udp://127.0.0.1:0`. */
  gossip?: string;
  seeds?: string[];
  registry?: string;
  registryTtl?: number;
  clusterKey?: string;
  /** Serve the calculator (default true). A caller must not, or its calls stay local. */
  serveCalculator?: boolean;
  /** Serve the registry (client-server look-up) instead of joining a look-up. */
  registryServer?: boolean;
  /** Overrides of the fast membership timings. */
  membership?: Partial<MembershipConfig>;
  /**
   * Load everything, say `{ type: "standby" }`, and start the node only when
   * the parent sends `{ go: true }`: a restart in milliseconds, as a supervisor
   * restarting a crashed process would, rather than after node's start-up.
   */
  standby?: boolean;
}

/** The first message to the parent. */
export type ReadyMessage = NodeReadyMessage;

/** A change seen by this member's watch on Marker (`removed`: dead, left or replaced). */
export interface SeenChange {
  at: number;
  type: "added" | "removed" | "updated";
  id: string;
  name: string;
  state: string;
}

/** One call made through `node.client()`. */
export interface CallResult {
  /** When the call began and ended (ms since the epoch). */
  at: number;
  end: number;
  ok: boolean;
  code?: string;
  message?: string;
}

/** A member as reported to the parent. */
export interface MemberView {
  id: string;
  name: string;
  state: string;
  incarnation: number;
  gossip: string;
  addresses: string[];
  labels: Record<string, string>;
  services: Array<[string, string]>;
  started: number;
}

/** An instance as reported to the parent. */
export interface InstanceView {
  id: string;
  name: string;
  state: string;
  addresses: string[];
}

export type Request =
  | { cmd: "members" }
  | { cmd: "lookup"; service: string }
  | { cmd: "changes" }
  | { cmd: "served" }
  | { cmd: "call"; count: number; intervalMs: number; timeoutMs: number; parallel?: boolean }
  | { cmd: "startCalls"; intervalMs: number; timeoutMs: number }
  | { cmd: "stopCalls" }
  | { cmd: "starve"; durationMs: number; busyMs: number; idleMs: number }
  | { cmd: "close" };

const silent = { debug() {}, info() {}, warn() {}, error() {} };

const options = JSON.parse(process.argv[2] ?? "{}") as MemberOptions;
let served = 0;
const changes: SeenChange[] = [];
let node: Node | undefined;
let calls: { results: CallResult[]; stop: boolean; done: Promise<void> } | null = null;

process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => void shutdown());

async function shutdown(): Promise<void> {
  const timer = setTimeout(() => process.exit(0), 3_000);
  timer.unref();
  await node?.close({ timeout: 1_000 }).catch(() => {});
  process.exit(0);
}

async function main(): Promise<void> {
  const registryServer = options.registryServer === true;
  node = await startNode({
    name: options.name,
    listen: options.listen ?? "tcp://127.0.0.1:0",
    // Test hosts in network namespaces listen on their own addresses, with no credentials.
    insecure: true,
    logger: silent,
    ...(registryServer
      ? { lookup: false }
      : {
          cluster: options.cluster,
          ...(options.seeds ? { seeds: options.seeds } : {}),
          ...(options.registry ? { registry: options.registry } : {}),
          ...(options.clusterKey ? { clusterKey: options.clusterKey } : {}),
          lookup: {
            gossip: options.gossip ?? "udp://127.0.0.1:0",
            membership: { ...FAST_MEMBERSHIP_CONFIG, ...options.membership },
            ...(options.registryTtl ? { registryTtl: options.registryTtl } : {}),
          },
        }),
  });
  const self = node;
  if (registryServer) {
    serveRegistry(self, { sweepInterval: 50 });
  } else {
    self.serve(Marker, { who: () => self.name });
    if (options.serveCalculator !== false) {
      self.serve(Calculator, {
        ...calculatorHandlers,
        add: (input, ctx) => {
          served++;
          return calculatorHandlers.add(input, ctx);
        },
      });
    }
    void recordChanges(self);
  }
  process.on("message", (message: { seq: number; request: Request }) => void answer(message.seq, message.request));
  process.send?.({
    type: "ready",
    id: self.id,
    name: self.name,
    pid: process.pid,
    gossip: self.gossipAddress,
    addresses: self.addresses,
  } satisfies ReadyMessage);
}

/** Records every change of every member, as it happens. */
async function recordChanges(self: Node): Promise<void> {
  for await (const change of self.watch(Marker)) {
    changes.push({
      at: Date.now(),
      type: change.type,
      id: change.instance.node.id,
      name: change.instance.node.name,
      state: change.instance.state,
    });
  }
}

async function answer(seq: number, request: Request): Promise<void> {
  try {
    const result = await handle(request);
    process.send?.({ seq, ok: true, result });
  } catch (error) {
    process.send?.({ seq, ok: false, error: String((error as Error)?.stack ?? error) });
  }
}

async function handle(request: Request): Promise<unknown> {
  const self = node!;
  switch (request.cmd) {
    case "members":
      return self.members().map(
        (member): MemberView => ({
          id: member.record.id,
          name: member.record.name,
          state: member.state,
          incarnation: member.incarnation,
          gossip: member.record.gossip,
          addresses: [...member.record.addresses],
          labels: { ...member.record.labels },
          services: member.record.services.map(([name, version]): [string, string] => [name, version]),
          started: member.record.started ?? 0,
        }),
      );
    case "lookup":
      return self.lookup(request.service).map(
        (instance: Instance): InstanceView => ({
          id: instance.node.id,
          name: instance.node.name,
          state: instance.state,
          addresses: [...instance.addresses],
        }),
      );
    case "changes":
      return changes;
    case "served":
      return served;
    case "call": {
      // In parallel, calls made before any connection exists go to every instance the look-up lists.
      if (request.parallel) return Promise.all(Array.from({ length: request.count }, () => callOnce(self, request.timeoutMs)));
      const results: CallResult[] = [];
      for (let i = 0; i < request.count; i++) {
        results.push(await callOnce(self, request.timeoutMs));
        await sleep(request.intervalMs);
      }
      return results;
    }
    case "startCalls": {
      if (calls) throw new Error("calls already running");
      const state = { results: [] as CallResult[], stop: false, done: Promise.resolve() };
      // Bounded by the parent's stopCalls, and by a hard cap of two minutes.
      state.done = (async () => {
        const until = Date.now() + 120_000;
        while (!state.stop && Date.now() < until) {
          state.results.push(await callOnce(self, request.timeoutMs));
          await sleep(request.intervalMs);
        }
      })();
      calls = state;
      return null;
    }
    case "stopCalls": {
      const state = calls;
      if (!state) return [];
      state.stop = true;
      await state.done;
      calls = null;
      return state.results;
    }
    case "starve":
      await starve(request.durationMs, request.busyMs, request.idleMs);
      return null;
    case "close":
      await self.close({ timeout: 1_000 });
      return null;
  }
}

async function callOnce(self: Node, timeoutMs: number): Promise<CallResult> {
  const at = Date.now();
  try {
    const sum = await self.client(Calculator).add({ a: 2, b: 3 }, { timeout: timeoutMs });
    if (sum !== 5) return { at, end: Date.now(), ok: false, code: "WRONG", message: `2 + 3 = ${sum}` };
    return { at, end: Date.now(), ok: true };
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return { at, end: Date.now(), ok: false, code: e.code ?? "THROWN", message: e.message };
  }
}

/** Keeps the event loop busy `busyMs` at a time, yielding only `idleMs` (0: one turn) between, for `durationMs`. */
async function starve(durationMs: number, busyMs: number, idleMs: number): Promise<void> {
  const until = Date.now() + durationMs;
  while (Date.now() < until) {
    const end = Math.min(until, Date.now() + busyMs);
    while (Date.now() < end) {
      // spin
    }
    // 0: one turn of the event loop, with no wait for I/O.
    await (idleMs > 0 ? sleep(idleMs) : new Promise((resolve) => setImmediate(resolve)));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

runIpcChild(`member ${options.name}`, options.standby, main);
