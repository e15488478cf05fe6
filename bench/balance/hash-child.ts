import { HashRing } from "../../src/balance/hash-ring.ts";
import { startNode, type Node } from "../../src/index.ts";
import { childArgument, fail, onStop } from "../lib/child-side.ts";
import { consume } from "../lib/micro.ts";
import { median } from "../lib/stats.ts";
import { Spread } from "./contract.ts";
import { report, type HashEndToEnd, type HashReport, type RingTrial } from "./protocol.ts";

/** What the orchestrator passes to the hash child. */
export interface HashArgument {
  instances: number;
  keys: number;
  trials: number;
  endToEndKeys: number;
}

// Bounds of the end-to-end part: waiting for the caller to see an instance go or come, and the whole of it.
const SETTLE_MS = 5_000;
const END_TO_END_MS = 30_000;
const CONCURRENCY = 64;

/**
 * Consistent hashing, in one process. First the ring itself (HashRing from
 * src/balance/): for each trial, N instance ids shaped like node ids (UUIDs
 * from a seeded generator, so every run gives the same figures), the keys'
 * spread over them, the keys that move when each instance in turn leaves and
 * when one joins. Then the "hash" strategy end to end: `node.client()` with
 * `balance: { strategy: "hash" }` over in-process connections to N nodes, one
 * of them closed, then a new one connected.
 */
async function main(): Promise<void> {
  const argument = childArgument<HashArgument>();
  const keys = Array.from({ length: Math.max(argument.keys, argument.endToEndKeys) }, (_, i) => `user-${i}`);
  const ringKeys = keys.slice(0, argument.keys);
  const trials: RingTrial[] = [];
  let pickNs = Number.NaN;
  for (let trial = 0; trial < argument.trials; trial++) {
    const random = xorshift(0x9e3779b9 ^ (trial + 1));
    const ids = Array.from({ length: argument.instances }, () => uuid(random));
    trials.push(ringTrial(ids, uuid(random), ringKeys));
    if (trial === 0) pickNs = timePicks(new HashRing(ids, (id) => id), ringKeys);
  }
  let endToEnd: HashEndToEnd | null = null;
  let endToEndError: string | undefined;
  const nodes: Node[] = [];
  onStop(() => Promise.all(nodes.map((node) => node.close({ timeout: 200 }))).then(() => {}));
  try {
    endToEnd = await hashEndToEnd(argument.instances, keys.slice(0, argument.endToEndKeys), nodes);
  } catch (error) {
    endToEndError = (error as Error).message;
  } finally {
    await Promise.all(nodes.map((node) => node.close({ timeout: 200 })));
    nodes.length = 0;
  }
  const result: HashReport = { trials, pickNs, endToEnd, ...(endToEndError === undefined ? {} : { endToEndError }) };
  report({ type: "hash", report: result });
}

/** One set of ids: spread, every instance leaving in turn, one joining. */
function ringTrial(ids: readonly string[], newcomer: string, keys: readonly string[]): RingTrial {
  const base = new HashRing(ids, (id) => id);
  const owners = keys.map((key) => base.pick(key)!);
  const counts = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const owner of owners) counts.set(owner, counts.get(owner)! + 1);
  const mean = keys.length / ids.length;

  const leaveShares: number[] = [];
  let leaveStrayMoves = 0;
  for (const leaver of ids) {
    const ring = new HashRing(
      ids.filter((id) => id !== leaver),
      (id) => id,
    );
    let moved = 0;
    for (let k = 0; k < keys.length; k++) {
      if (ring.pick(keys[k]!) === owners[k]) continue;
      moved++;
      if (owners[k] !== leaver) leaveStrayMoves++;
    }
    leaveShares.push(moved / keys.length);
  }

  const joined = new HashRing([...ids, newcomer], (id) => id);
  let joinMoved = 0;
  let joinStrayMoves = 0;
  for (let k = 0; k < keys.length; k++) {
    const owner = joined.pick(keys[k]!);
    if (owner === owners[k]) continue;
    joinMoved++;
    if (owner !== newcomer) joinStrayMoves++;
  }
  return {
    instances: ids.length,
    keys: keys.length,
    imbalance: Math.max(...counts.values()) / mean,
    minShare: Math.min(...counts.values()) / mean,
    leaveMovedMean: leaveShares.reduce((sum, share) => sum + share, 0) / leaveShares.length,
    leaveMovedMax: Math.max(...leaveShares),
    leaveStrayMoves,
    joinMoved: joinMoved / keys.length,
    joinStrayMoves,
  };
}

/** Median ns per `pick` over a few passes of the keys. */
function timePicks(ring: HashRing<string>, keys: readonly string[]): number {
  const passes: number[] = [];
  for (let pass = 0; pass < 5; pass++) {
    const started = process.hrtime.bigint();
    for (const key of keys) consume(ring.pick(key)!.length);
    passes.push(Number(process.hrtime.bigint() - started) / keys.length);
  }
  return median(passes);
}

/** The "hash" strategy through `node.client()`: where each key goes, before and after an instance leaves and joins. */
async function hashEndToEnd(instances: number, keys: readonly string[], nodes: Node[]): Promise<HashEndToEnd> {
  const started = performance.now();
  const deadline = started + END_TO_END_MS;
  const serve = async (name: string): Promise<Node> => {
    const node = await startNode({ name, listen: `inproc://bench-hash-${name}-${process.pid}` });
    nodes.push(node);
    node.serve(Spread, { work: () => name, who: () => name });
    return node;
  };
  const servers: Node[] = [];
  for (let i = 0; i < instances; i++) servers.push(await serve(`hash-${i}`));
  const caller = await startNode({ name: "hash-caller" });
  nodes.push(caller);
  for (const server of servers) await caller.connect(server.addresses[0]!);
  const client = caller.client(Spread, { balance: { strategy: "hash", hashKey: (input) => (input as { key: string }).key } });
  let errors = 0;
  const assign = async (): Promise<string[]> => {
    const owners = new Array<string>(keys.length).fill("");
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length && performance.now() < deadline) {
        const k = next++;
        try {
          owners[k] = await client.who({ key: keys[k]! });
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    if (next < keys.length) throw new Error(`end-to-end hashing ran out of time after ${next} of ${keys.length} keys`);
    return owners;
  };
  const settle = async (count: number): Promise<void> => {
    const until = performance.now() + SETTLE_MS;
    for (;;) {
      const seen = caller.stats().services.find((service) => service.service === Spread.name)?.instances.length ?? 0;
      if (seen === count) return;
      if (performance.now() > until) throw new Error(`the caller still sees ${seen} instances, not ${count}, after ${SETTLE_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  await settle(instances);
  const before = await assign();
  const ring = new HashRing(servers, (server) => server.id);
  let agree = 0;
  for (let k = 0; k < keys.length; k++) if (ring.pick(keys[k]!)!.name === before[k]) agree++;
  const counts = new Map<string, number>();
  for (const owner of before) counts.set(owner, (counts.get(owner) ?? 0) + 1);

  const leaver = servers[Math.floor(instances / 2)]!;
  await leaver.close({ timeout: 200 });
  await settle(instances - 1);
  const afterLeave = await assign();
  const leave = moves(before, afterLeave, (from) => from === leaver.name);

  const newcomer = await serve("hash-new");
  await caller.connect(newcomer.addresses[0]!);
  await settle(instances);
  const afterJoin = await assign();
  const join = moves(afterLeave, afterJoin, (_from, to) => to === newcomer.name);

  return {
    instances,
    keys: keys.length,
    agreesWithRing: agree / keys.length,
    imbalance: Math.max(...counts.values()) / (keys.length / instances),
    leaveMoved: leave.moved / keys.length,
    leaveStrayMoves: leave.stray,
    joinMoved: join.moved / keys.length,
    joinStrayMoves: join.stray,
    errors,
    elapsedMs: performance.now() - started,
  };
}

/** Keys whose instance changed, and those of them that should not have moved. */
function moves(before: readonly string[], after: readonly string[], expected: (from: string, to: string) => boolean): { moved: number; stray: number } {
  let moved = 0;
  let stray = 0;
  for (let k = 0; k < before.length; k++) {
    if (before[k] === after[k]) continue;
    moved++;
    if (!expected(before[k]!, after[k]!)) stray++;
  }
  return { moved, stray };
}

/** A seeded 32-bit xorshift generator. */
function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** A version-4-shaped UUID from `random`, like a node id. */
function uuid(random: () => number): string {
  const hex = (digits: number): string => Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join("");
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[Math.floor(random() * 4)]}${hex(3)}-${hex(12)}`;
}

main().catch(fail);
