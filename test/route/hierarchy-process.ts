/**
 * One process of the many-clusters routing test, started by the parent (see
 * hierarchy-fixture.ts) with its options as JSON in argv[2]:
 *
 * - `service`: a node of one cluster serving the services of a site
 *   (`<site>.svc-<i>`), each answering who served it and which way the call came;
 * - `gateway`: `startGateway` over two or more clusters;
 * - `caller`: a node of one cluster that calls services by name, once each or
 *   as a load bounded in time, and records every call.
 *
 * It loads everything, says `{ type: "standby" }`, starts on the parent's
 * `{ go: true }`, says `{ type: "ready", … }` and answers requests over IPC
 * (test/support/ipc-child.ts). It exits when the parent goes away.
 */
import { FAST_MEMBERSHIP_CONFIG, type MembershipConfig } from "../../src/lookup/membership/index.ts";
import { isRpcError, startGateway, startNode, type Contract, type Gateway, type Handlers, type Node } from "../../src/index.ts";
import { HOPS_META, VIA_META } from "../../src/route/hops.ts";
import { runIpcChild, type NodeReadyMessage } from "../support/ipc-child.ts";
import { siteContract, siteServices, type SiteAnswer } from "./hierarchy-services.ts";

/** Where a node joins its cluster. */
interface Joined {
  cluster: string;
  /** Calls address; default `tcp://127.0.0.1:0`. */
  listen?: string;
  /** Gossip address; default `udp://127.0.0.1:0`. */
  gossip?: string;
  seeds?: string[];
}

export type HierarchyOptions = { name: string; membership?: Partial<MembershipConfig> } & (
  | ({ role: "service"; site: string; services: number } & Joined)
  | ({ role: "caller" } & Joined)
  | { role: "gateway"; join: Record<string, Omit<Joined, "cluster">> }
);

export interface HierarchyReady extends NodeReadyMessage {
  /** Its member in each cluster it joins. */
  members: Record<string, { gossip: string; addresses: string[] }>;
}

/** A service to call, and which way it is (for the figures: a cluster, or a number of hops). */
export interface Target {
  service: string;
  where: string;
}

/** One call the caller made. */
export interface CallRecord {
  /** Index into the targets of the request. */
  target: number;
  /** When it began, in ms since the load's `t0`. */
  start: number;
  ms: number;
  ok: boolean;
  code?: string;
  message?: string;
  /** From the answer: the node that served it, the gateways it crossed. */
  node?: string;
  hops?: number;
  via?: string;
}

/** A load's calls; `t0` is ms since the epoch (high resolution), every record's `start` counts from it. */
export interface LoadResult {
  t0: number;
  records: CallRecord[];
}

export type HierarchyRequest =
  | { cmd: "lookup"; service: string; cluster?: string }
  | { cmd: "fewer"; services: string[]; least: number; cluster?: string }
  | { cmd: "routes"; cluster: string }
  | { cmd: "callEach"; targets: Target[]; timeoutMs: number; concurrency: number }
  | { cmd: "startLoad"; targets: Target[]; timeoutMs: number; concurrency: number; durationMs: number; pauseAfterFailureMs?: number; pauseMs?: number; apart?: boolean }
  | { cmd: "count"; since: number; where: string }
  | { cmd: "stopLoad" };

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const options = JSON.parse(process.argv[2] ?? "{}") as HierarchyOptions;
const membership = { ...FAST_MEMBERSHIP_CONFIG, ...options.membership };
/** Its member in each cluster. */
const nodes = new Map<string, Node>();
let gateway: Gateway | undefined;
const clients = new Map<string, { where: (input: unknown, options: object) => Promise<unknown> }>();
let load: { t0: number; p0: number; targets: Target[]; records: CallRecord[]; stop: boolean; done: Promise<unknown> } | null = null;

/** Seeds per cluster, sent with the parent's go (they are known only once the first members started). */
let lateSeeds: Record<string, string[]> = {};
process.on("message", (message: { go?: boolean; seeds?: Record<string, string[]> }) => {
  if (message?.go === true && message.seeds) lateSeeds = message.seeds;
});
process.on("disconnect", () => process.exit(0));

function seedsOf(cluster: string, given: string[] | undefined): { seeds?: string[] } {
  const seeds = [...(given ?? []), ...(lateSeeds[cluster] ?? [])];
  return seeds.length === 0 ? {} : { seeds };
}

async function main(): Promise<void> {
  if (options.role === "gateway") {
    gateway = await startGateway({
      name: options.name,
      logger: silent,
      membership,
      join: Object.fromEntries(
        Object.entries(options.join).map(([cluster, at]) => [
          cluster,
          {
            ...seedsOf(cluster, at.seeds),
            ...(at.listen ? { listen: at.listen } : {}),
            ...(at.gossip ? { gossip: at.gossip } : {}),
            // Test hosts in network namespaces listen on their own addresses, with no credentials.
            insecure: true,
          },
        ]),
      ),
    });
    for (const cluster of gateway.clusters) nodes.set(cluster, gateway.node(cluster));
  } else {
    const node = await startNode({
      name: options.name,
      cluster: options.cluster,
      listen: options.listen ?? "tcp://127.0.0.1:0",
      insecure: true,
      logger: silent,
      ...seedsOf(options.cluster, options.seeds),
      lookup: { gossip: options.gossip ?? "udp://127.0.0.1:0", membership },
    });
    nodes.set(options.cluster, node);
    if (options.role === "service") {
      for (const name of siteServices(options.site, options.services)) {
        const handlers = {
          where: (_input: unknown, ctx: { meta: Record<string, string> }): SiteAnswer => ({
            service: name,
            node: node.name,
            hops: Number(ctx.meta[HOPS_META] ?? 0),
            via: ctx.meta[VIA_META] ?? "",
          }),
        };
        node.serve(siteContract(name), handlers as unknown as Handlers<Contract>);
      }
    }
  }
  process.on("message", (message: { seq?: number; request?: HierarchyRequest }) => {
    if (typeof message?.seq === "number" && message.request) void answer(message.seq, message.request);
  });
  const first = [...nodes.values()][0]!;
  process.send?.({
    type: "ready",
    id: first.id,
    name: options.name,
    pid: process.pid,
    gossip: first.gossipAddress,
    addresses: first.addresses,
    members: Object.fromEntries([...nodes].map(([cluster, node]) => [cluster, { gossip: node.gossipAddress!, addresses: node.addresses }])),
  } satisfies HierarchyReady);
}

async function answer(seq: number, request: HierarchyRequest): Promise<void> {
  try {
    process.send?.({ seq, ok: true, result: await handle(request) });
  } catch (error) {
    process.send?.({ seq, ok: false, error: String((error as Error)?.stack ?? error) });
  }
}

function only(): Node {
  if (nodes.size !== 1) throw new Error(`${options.name} is in ${nodes.size} clusters: say which`);
  return [...nodes.values()][0]!;
}

async function handle(request: HierarchyRequest): Promise<unknown> {
  switch (request.cmd) {
    case "lookup": {
      const node = request.cluster === undefined ? only() : nodes.get(request.cluster);
      if (!node) throw new Error(`${options.name} is not in cluster ${request.cluster}`);
      return node
        .lookup(request.service)
        .filter((instance) => instance.state === "alive" || instance.state === "suspect")
        .map((instance) => instance.node.name);
    }
    case "fewer": {
      // The services of the list that its member knows fewer than `least` live instances of.
      const node = request.cluster === undefined ? only() : nodes.get(request.cluster);
      if (!node) throw new Error(`${options.name} is not in cluster ${request.cluster}`);
      return request.services.filter((service) => node.lookup(service).filter((i) => i.state === "alive" || i.state === "suspect").length < request.least);
    }
    case "routes":
      if (!gateway) throw new Error(`${options.name} is not a gateway`);
      return gateway.routes(request.cluster).length;
    case "callEach": {
      const p0 = performance.now();
      const records: CallRecord[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < request.targets.length) {
          const i = next++;
          records.push(await callOnce(request.targets, i, request.timeoutMs, p0));
        }
      };
      await Promise.all(Array.from({ length: request.concurrency }, worker));
      return records.sort((a, b) => a.target - b.target);
    }
    case "startLoad": {
      if (load) throw new Error("a load is already running");
      const p0 = performance.now();
      const state = { t0: performance.timeOrigin + p0, p0, targets: request.targets, records: [] as CallRecord[], stop: false, done: Promise.resolve() as Promise<unknown> };
      const until = p0 + Math.min(request.durationMs, 60_000);
      // Targets in turn, or with `apart`, each group of the same `where` in turn by workers of its own:
      // a group whose calls hang then holds up no other.
      const groups = request.apart ? [...new Set(request.targets.map((target) => target.where))] : [null];
      const workers = groups.flatMap((group) => {
        const mine = request.targets.flatMap((target, i) => (group === null || target.where === group ? [i] : []));
        let next = 0;
        // Bounded by the duration (at most a minute) and by stopLoad; each call by its timeout.
        const worker = async (): Promise<void> => {
          while (!state.stop && performance.now() < until) {
            const record = await callOnce(request.targets, mine[next++ % mine.length]!, request.timeoutMs, p0);
            state.records.push(record);
            // A call that fails at once (no route) would otherwise be made again at once, thousands of times a second.
            const pause = record.ok ? request.pauseMs : (request.pauseAfterFailureMs ?? request.pauseMs);
            if (pause) await new Promise((resolve) => setTimeout(resolve, pause));
          }
        };
        return Array.from({ length: request.concurrency }, worker);
      });
      state.done = Promise.all(workers);
      load = state;
      return state.t0;
    }
    case "count": {
      // Calls of the running load to targets of `where` begun after `since` (ms since the epoch) and ended.
      const state = load;
      if (!state) throw new Error("no load is running");
      const from = request.since - state.t0;
      return state.records.filter((r) => r.start > from && state.targets[r.target]?.where === request.where).length;
    }
    case "stopLoad": {
      const state = load;
      if (!state) throw new Error("no load is running");
      state.stop = true;
      await state.done;
      load = null;
      return { t0: state.t0, records: state.records } satisfies LoadResult;
    }
  }
}

function client(service: string): { where: (input: unknown, options: object) => Promise<unknown> } {
  let made = clients.get(service);
  if (!made) {
    made = only().client(siteContract(service)) as unknown as { where: (input: unknown, options: object) => Promise<unknown> };
    clients.set(service, made);
  }
  return made;
}

async function callOnce(targets: readonly { service: string }[], i: number, timeoutMs: number, p0: number): Promise<CallRecord> {
  const service = targets[i]!.service;
  const start = performance.now();
  try {
    const answer = (await client(service).where({}, { timeout: timeoutMs })) as SiteAnswer;
    const ms = performance.now() - start;
    if (answer?.service !== service) return { target: i, start: start - p0, ms, ok: false, code: "WRONG", message: `${service} was answered by ${JSON.stringify(answer)}` };
    return { target: i, start: start - p0, ms, ok: true, node: answer.node, hops: answer.hops, via: answer.via };
  } catch (error) {
    const ms = performance.now() - start;
    return { target: i, start: start - p0, ms, ok: false, code: isRpcError(error) ? error.code : "THROWN", message: String((error as Error)?.message ?? error) };
  }
}

runIpcChild(`${options.role} ${options.name}`, true, main);
