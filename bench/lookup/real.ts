/**
 * The look-up at real scale on this machine: N member processes with default
 * membership settings, on 127.0.0.1 only. Measures how fast a new node's service
 * becomes visible everywhere, how fast a `kill -9`'d node is declared dead
 * everywhere, and the steady gossip traffic per node.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { MemberProcess, type MemberRuntime } from "./processes.ts";
import { preciseNow, type FromMember, type ToMember } from "./protocol.ts";
import { spread, type Spread } from "./sim.ts";
import { perNodePerSecond, sumTraffic, trafficDelta, type Rate, type TrafficCounts } from "./traffic.ts";

/** Settings of one real-process run. */
export interface RealOptions {
  n: number;
  runtime: MemberRuntime;
  /** Members started together before waiting for them: start-up costs CPU, and 2 cores are shared. */
  batch: number;
  /** The steady window over which traffic is measured. */
  windowMs: number;
  /** Limit of each wait for visibility. */
  visibleLimitMs: number;
  /** Limit of the wait for every node to declare the killed one dead. */
  deadLimitMs: number;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Background services the member that later serves one more holds (`--services`); default none. */
  services?: number;
}

/** Figures of one real-process run; times in ms. */
export interface RealResult {
  n: number;
  /** From the first fork to the last member ready. */
  startMs: number;
  /** From the last member ready until every member saw all n. */
  convergeMs: number | null;
  /** From convergence until gossip rounds were (nearly) quiet: the tail of the joins. */
  drainMs: number;
  window: { seconds: number; rate: Rate; activeMin: number };
  /** A new node starts and serves a service: from its `startNode` call until each member's look-up lists it. */
  join: Spread;
  /** An existing member starts serving a new service: from `serve` until each other member lists it. */
  serve: Spread;
  /** The new node is killed with SIGKILL: until each member removed it from the look-up (declared dead). */
  dead: Spread & { unknown: number };
  /** Resident memory of all members together at the end of the window, in bytes. */
  rssTotal: number;
}

type Traffic = Extract<FromMember, { type: "traffic" }>;

const isTraffic = (message: FromMember): Traffic | undefined => (message.type === "traffic" ? message : undefined);

async function snapshot(members: MemberProcess[]): Promise<Traffic[]> {
  return Promise.all(members.map((member) => member.request({ type: "traffic" }, isTraffic, 10_000)));
}

/**
 * Sets a watch on every member, waits until all are watching (so none misses
 * the event), runs `act`, then collects when each saw it. Returns the times
 * after `from()` (read once `act` is done); members that did not see it within
 * `limitMs` are counted as missing.
 */
async function watchAll(
  members: MemberProcess[],
  watch: Extract<ToMember, { type: "watch-service" | "watch-dead" }>,
  key: string,
  act: () => Promise<number>,
): Promise<Spread & { unknown: number }> {
  const watching = members.map((member) => member.waitFor((m) => (m.type === "watching" && m.key === key ? true : undefined), 10_000));
  let unknown = 0;
  const seen = members.map((member) =>
    member
      .waitFor((m) => {
        if (m.type !== "seen" || m.key !== key) return undefined;
        if (m.known === false) unknown++;
        return { at: m.at };
      }, watch.limitMs + 10_000)
      .then((m) => m.at)
      .catch(() => null),
  );
  for (const member of members) member.send(watch);
  await Promise.all(watching);
  const from = await act();
  const times = (await Promise.all(seen)).filter((at): at is number => at !== null).map((at) => at - from);
  return { ...spread(times, members.length - times.length - unknown), unknown };
}

/** Runs one cluster of `n` member processes through the measurements, then kills it. */
export async function runReal(options: RealOptions): Promise<RealResult> {
  const { n, runtime, log } = options;
  const cluster = `lookup-bench-${process.pid}-${n}`;
  const members: MemberProcess[] = [];
  const extra: MemberProcess[] = [];
  const start = (name: string, seeds: string[], serve?: string): MemberProcess =>
    new MemberProcess(
      runtime,
      // The member that later serves one more service holds the background services: its catalog is the one that changes.
      { name, cluster, seeds, ...(serve === undefined ? {} : { serve }), ...(options.services && name === `m${n >> 1}` ? { services: options.services } : {}) },
      options.env,
    );
  try {
    const t0 = performance.now();
    const seed = start(`m0`, []);
    members.push(seed);
    await seed.started(60_000);
    const seeds = [seed.ready.gossip];
    for (let i = 1; i < n; i += options.batch) {
      const batch: MemberProcess[] = [];
      for (let j = i; j < Math.min(n, i + options.batch); j++) batch.push(start(`m${j}`, seeds));
      members.push(...batch);
      await Promise.all(batch.map((member) => member.started(60_000)));
    }
    const startMs = performance.now() - t0;
    log(`  n=${n}: ${n} members started in ${(startMs / 1000).toFixed(1)} s`);

    // Converged: every member holds all n alive (bounded wait).
    const t1 = performance.now();
    let convergeMs: number | null = null;
    for (let round = 0; round < 120; round++) {
      const counts = await snapshot(members);
      if (counts.every((c) => c.active === n)) {
        convergeMs = performance.now() - t1;
        break;
      }
      await sleep(250);
    }
    log(`  n=${n}: converged ${convergeMs === null ? "NOT within 30 s" : `after ${(convergeMs / 1000).toFixed(1)} s`}`);

    // The join storm leaves news to pass on (each record is gossiped a few times by
    // every node that learns it): the steady window starts once gossip rounds are
    // (nearly) quiet, bounded.
    const t2 = performance.now();
    let previous = await snapshot(members);
    for (let round = 0; round < 15; round++) {
      await sleep(2000);
      const next = await snapshot(members);
      const gossip = next.reduce((sum, c, i) => sum + c.counts.sent.byKind.gossip.messages - previous[i]!.counts.sent.byKind.gossip.messages, 0);
      previous = next;
      if (gossip <= n * 0.1) break;
    }
    const drainMs = performance.now() - t2;

    // Steady traffic.
    const before = await snapshot(members);
    const w0 = performance.now();
    await sleep(options.windowMs);
    const after = await snapshot(members);
    const seconds = (performance.now() - w0) / 1000;
    const delta: TrafficCounts = sumTraffic(after.map((a, i) => trafficDelta(a.counts, before[i]!.counts)));
    const window = { seconds, rate: perNodePerSecond(delta, n, seconds), activeMin: Math.min(...after.map((a) => a.active)) };
    const rssTotal = after.reduce((sum, a) => sum + a.rss, 0);

    // A new node with a service.
    const probe = `bench.probe.n${n}`;
    let newcomer: MemberProcess | undefined;
    const join = await watchAll(members, { type: "watch-service", service: probe, limitMs: options.visibleLimitMs }, `service:${probe}`, async () => {
      newcomer = start(`new-${n}`, seeds, probe);
      extra.push(newcomer);
      return (await newcomer.started(60_000)).startedAt;
    });
    log(`  n=${n}: new node's service visible: p50 ${join.p50.toFixed(0)} ms, max ${join.max.toFixed(0)} ms`);

    // An existing member serves one more service.
    const server = members[n >> 1]!;
    const others = members.filter((member) => member !== server);
    const update = `bench.update.n${n}`;
    const serve = await watchAll(others, { type: "watch-service", service: update, limitMs: options.visibleLimitMs }, `service:${update}`, () =>
      server.request({ type: "serve", service: update }, (m) => (m.type === "served" ? m.at : undefined), 10_000),
    );
    log(`  n=${n}: served on a member, visible: p50 ${serve.p50.toFixed(0)} ms, max ${serve.max.toFixed(0)} ms`);

    // kill -9 the new node.
    const victim = newcomer!;
    const dead = await watchAll(
      members,
      { type: "watch-dead", service: probe, id: victim.ready.id, limitMs: options.deadLimitMs },
      `dead:${victim.ready.id}`,
      async () => {
        const at = preciseNow();
        victim.child.kill("SIGKILL");
        return at;
      },
    );
    log(`  n=${n}: killed node declared dead: p50 ${(dead.p50 / 1000).toFixed(1)} s, max ${(dead.max / 1000).toFixed(1)} s, missing ${dead.missing}, never knew it ${dead.unknown}`);
    return { n, startMs, convergeMs, drainMs, window, join, serve, dead, rssTotal };
  } finally {
    await Promise.all([...members, ...extra].map((member) => member.kill()));
  }
}
