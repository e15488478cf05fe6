/**
 * The look-up membership at scales one machine cannot run as processes: the
 * real protocol code (`createMembership`) on the simulated network and clock of
 * src/lookup/membership/sim-network.ts, with default settings. Everything random
 * comes from one seed, so a run, and any failure in it, replays exactly. Small
 * worlds form by joins; large ones start formed (every node knowing every
 * member), since n joins cost n² record deliveries.
 */
import { createHash } from "node:crypto";
import { getHeapStatistics } from "node:v8";
import {
  createMembership,
  seededRandom,
  SimNetwork,
  type Membership,
  type MemberRecord,
  type SimNetworkStats,
  type MembershipEvent,
} from "../../src/lookup/membership/index.ts";
import { freezeRecord } from "../../src/lookup/membership/record.ts";
import { countDatagram, emptyTraffic, perNodePerSecond, type Rate, type TrafficCounts } from "./traffic.ts";

/** One simulated world: `n` nodes, one seed, one loss rate. */
export interface SimWorldOptions {
  n: number;
  seed: number;
  /** Probability that any datagram is lost, 0..1. */
  loss: number;
  /**
   * Start from a formed cluster (every node knowing every member alive, as after
   * a long run) instead of n joins; the join measured is then one newcomer's.
   */
  formed?: boolean;
  /** Nodes join at random times over this span (node 0, the seed, first). Not with `formed`. */
  joinSpreadMs: number;
  /** The quiet window in which steady traffic is measured. */
  steadyMs: number;
  /** How long a partition lasts before it heals; 0 skips it. */
  partitionMs: number;
  /** How many nodes the partition cuts off from the rest; 0 or absent: two halves. */
  partitionGroup?: number;
  /** Simulated limit of each phase that waits for something (convergence, detection). */
  phaseLimitMs: number;
  /** Wall-clock budget of the whole world: past it, the phase under way stops and is marked. */
  wallLimitMs: number;
}

/** Times over nodes, in simulated ms; `missing` nodes never got there within the limit. */
export interface Spread {
  p50: number;
  p99: number;
  max: number;
  missing: number;
}

/** A phase that waits for the cluster to reach a state. */
export interface WaitPhase {
  /** Over nodes, from the phase's starting event. */
  times: Spread;
  /** Datagrams and bytes sent per node per simulated second, over the phase. */
  rate: Rate;
  /** Simulated duration of the phase. */
  simMs: number;
  /** Real time the phase took. */
  wallMs: number;
  /** Set when the phase did not finish: the sim limit or the wall budget stopped it. */
  stopped?: "sim limit" | "wall budget";
}

/** What one world measured. */
export interface SimWorldResult {
  n: number;
  seed: number;
  loss: number;
  /** `joins`: n nodes joined through node 0; `formed`: started from a formed cluster. */
  start: "joins" | "formed";
  /**
   * `joins`: after the last join, until every node sees every other alive.
   * `formed`: a newcomer joins through node 0, until every node sees it alive.
   */
  join: WaitPhase;
  /** `formed` only: until the newcomer itself sees every member alive (simulated ms), null if not within the limit. */
  newcomerSeesAllMs?: number | null;
  /** After convergence, until gossip rounds went (nearly) quiet: the tail of the join storm (`joins` only). */
  drain: { simMs: number; quiet: boolean; rate: Rate; wallMs: number };
  /** The quiet cluster: traffic only, plus suspicions and deaths of live nodes (false positives). */
  steady: { rate: Rate; simMs: number; wallMs: number; suspicions: number; falseDeaths: number };
  /** One node stops without a word: time until every other node holds it dead. */
  crash?: WaitPhase;
  /** A group cut off from the rest, then healed: time after the heal until every node sees every live node again. */
  heal?: WaitPhase & { partitionMs: number; group: number; deadAcrossAtHeal: number };
  /** Deaths of live nodes over the whole run outside the partition (false positives). */
  falseDeaths: number;
  /** The simulated network's counters over the whole run. */
  network: SimNetworkStats;
  wallMs: number;
  peakHeapBytes: number;
  /** A hash of the run's figures and network counters: the same seed gives the same digest. */
  digest: string;
}

interface SimNode {
  index: number;
  id: string;
  address: string;
  membership: Membership;
  /** Others this node holds alive or suspect (from its stats, after each event). */
  active: number;
  crashed: boolean;
}

const CLUSTER = "sim";
const STEP_MS = 100;
const QUIET_WINDOW_MS = 5000;
// Below this many gossip datagrams per node per second the join backlog counts as sent.
const QUIET_GOSSIP_PER_NODE_PER_S = 0.02;

/** A deterministic id that looks like the real ones (36 characters). */
function simId(random: () => number): string {
  let hex = "";
  for (let i = 0; i < 32; i++) hex += Math.floor(random() * 16).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Nearest-rank percentiles of `values` plus a count of the missing. */
export function spread(values: number[], missing: number): Spread {
  if (values.length === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN, missing };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return { p50: rank(0.5), p99: rank(0.99), max: sorted[sorted.length - 1]!, missing };
}

/**
 * Runs one world through its phases: joins (or a formed start and one
 * newcomer), steady traffic, a crash, a partition healed. `progress` hears a line
 * as each phase ends (a 10,000-node world takes minutes).
 */
export function runSimWorld(options: SimWorldOptions, progress: (line: string) => void = () => {}): SimWorldResult {
  const wallStart = performance.now();
  const { n, seed } = options;
  const formed = options.formed === true;
  const net = new SimNetwork({ seed, link: { loss: options.loss } });
  const clock = net.clock;
  // One stream for the scenario's own choices, apart from the network's and each node's.
  const scenarioRandom = seededRandom(seed ^ 0x5eed);
  let traffic: TrafficCounts = emptyTraffic();
  net.tap((_from, _to, bytes) => countDatagram(traffic.sent, bytes));
  const note = (what: string, wall0: number): void =>
    progress(`n=${n} loss ${options.loss * 100}%: ${what} (sim ${(clock.now() / 1000).toFixed(0)} s, wall ${((performance.now() - wall0) / 1000).toFixed(0)} s, heap ${(getHeapStatistics().used_heap_size / 2 ** 30).toFixed(1)} GiB)`);

  const nodes: SimNode[] = [];
  const byId = new Map<string, SimNode>();
  // What the current phase waits for: each node's target count of active others, and when it got there.
  let target = n - 1;
  let reached = new Map<number, number>();
  let watchDeathOf: string | null = null;
  let deathSeen = new Map<number, number>();
  let watchJoinOf: string | null = null;
  let joinSeen = new Map<number, number>();
  let suspicions = 0;
  let falseDeaths = 0;
  let peakHeap = 0;
  let steps = 0;
  // Deaths of live nodes count as false positives only while the network is whole
  // and untouched: once a partition began, its aftermath is expected.
  let countFalse = true;

  const onEvent = (node: SimNode, event: MembershipEvent): void => {
    const id = event.member.record.id;
    if (id === node.id) return;
    if (event.type === "suspect") suspicions++;
    if (event.type === "join" && id === watchJoinOf && !joinSeen.has(node.index)) joinSeen.set(node.index, clock.now());
    if (event.type === "dead") {
      const subject = byId.get(id);
      if (id === watchDeathOf && !deathSeen.has(node.index)) deathSeen.set(node.index, clock.now());
      // A live node declared dead while the network is whole is a false positive.
      if (subject && !subject.crashed && countFalse) falseDeaths++;
    }
    node.active = node.membership.stats().active - 1;
    if (node.active === target && !node.crashed && !reached.has(node.index)) reached.set(node.index, clock.now());
  };

  const records: MemberRecord[] = [];
  const randoms: Array<() => number> = [];
  const makeRecord = (i: number): MemberRecord => {
    const random = seededRandom((Math.imul(seed, 0x9e3779b1) + i * 0x85ebca6b) >>> 0);
    randoms[i] = random;
    return {
      id: simId(random),
      name: `sim-${i}`,
      cluster: CLUSTER,
      gossip: `sim://n${i}`,
      addresses: [`tcp://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:7400`],
      labels: { host: `host-${i}` },
      services: [["orders", "1.0.0"]],
      load: 0,
      started: 1,
    };
  };
  // Frozen through: every node that learns a record shares this very object.
  for (let i = 0; i < n; i++) records.push(freezeRecord(makeRecord(i)) as MemberRecord);
  const known = formed ? records.map((record) => ({ record, incarnation: 0 })) : undefined;
  const addNode = (i: number, record: MemberRecord, knownMembers?: typeof known): SimNode => {
    const membership = createMembership({
      self: record,
      transport: net.transport(record.gossip),
      clock: net.clockFor(record.gossip),
      random: randoms[i]!,
      knownMembers,
    });
    const node: SimNode = { index: i, id: record.id, address: record.gossip, membership, active: membership.stats().active - 1, crashed: false };
    membership.on((event) => onEvent(node, event));
    nodes.push(node);
    byId.set(record.id, node);
    return node;
  };
  let wall0 = performance.now();
  for (let i = 0; i < n; i++) {
    addNode(i, records[i]!, known);
    if (formed && n >= 2000 && (i + 1) % 2000 === 0) note(`${i + 1} nodes created with the formed view`, wall0);
  }

  const wallLeft = (): boolean => performance.now() - wallStart < options.wallLimitMs;

  /** Advances until `done()` or the limit; returns the simulated time it took and why it stopped. */
  const runUntil = (done: () => boolean, limitMs: number): { simMs: number; stopped?: "sim limit" | "wall budget" } => {
    const start = clock.now();
    while (!done()) {
      if (clock.now() - start >= limitMs) return { simMs: clock.now() - start, stopped: "sim limit" };
      if (!wallLeft()) return { simMs: clock.now() - start, stopped: "wall budget" };
      clock.advance(STEP_MS);
      if (++steps % 20 === 0) peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size);
    }
    return { simMs: clock.now() - start };
  };

  const live = (): SimNode[] => nodes.filter((node) => !node.crashed);

  /** Starts waiting for every live node to hold `count` others active. */
  const expect = (count: number): void => {
    target = count;
    reached = new Map();
    for (const node of live()) {
      node.active = node.membership.stats().active - 1;
      if (node.active === count) reached.set(node.index, clock.now());
    }
  };

  /** The figures of a waiting phase: times from `from`, traffic since `trafficFrom` over `liveCount` nodes. */
  const phase = (
    from: number,
    times: Map<number, number>,
    expected: number,
    run: ReturnType<typeof runUntil>,
    phaseWall0: number,
    trafficFrom: number,
    liveCount: number,
  ): WaitPhase => {
    const values = [...times.values()].map((at) => at - from);
    const result: WaitPhase = {
      times: spread(values, expected - values.length),
      rate: perNodePerSecond(traffic, liveCount, (clock.now() - trafficFrom) / 1000),
      simMs: run.simMs,
      wallMs: performance.now() - phaseWall0,
    };
    if (run.stopped) result.stopped = run.stopped;
    return result;
  };

  let join: WaitPhase;
  let drain = { simMs: 0, quiet: true, rate: perNodePerSecond(emptyTraffic(), n, 1), wallMs: 0 };
  let newcomerSeesAllMs: number | null | undefined;
  let run: ReturnType<typeof runUntil>;
  if (!formed) {
    // ---- joins --------------------------------------------------------------
    wall0 = performance.now();
    const starts = nodes.map((_, i) => (i === 0 ? 0 : 1 + scenarioRandom() * options.joinSpreadMs));
    const lastJoin = Math.max(...starts);
    for (const node of nodes) {
      const seeds = node.index === 0 ? [] : [nodes[0]!.address];
      clock.setTimer(starts[node.index]!, () => {
        node.membership.start(seeds).catch(() => {});
      });
    }
    expect(n - 1);
    run = runUntil(() => reached.size === n, lastJoin + options.phaseLimitMs);
    join = phase(lastJoin, reached, n, run, wall0, 0, n);
    join.simMs = Math.max(0, clock.now() - lastJoin);
    note("joined", wall0);

    // ---- drain --------------------------------------------------------------
    // A join storm leaves every node with news to pass on (each record is sent
    // retransmitLimit times by every node that learns it); the steady window starts
    // once that backlog is out, i.e. when gossip rounds have (almost) nothing left to send.
    wall0 = performance.now();
    const drainFrom = clock.now();
    traffic = emptyTraffic();
    let quiet = false;
    while (!quiet && !join.stopped && clock.now() - drainFrom < options.phaseLimitMs && wallLeft()) {
      const before = traffic.sent.byKind.gossip.messages;
      runUntil(() => false, QUIET_WINDOW_MS);
      quiet = traffic.sent.byKind.gossip.messages - before <= n * QUIET_GOSSIP_PER_NODE_PER_S * (QUIET_WINDOW_MS / 1000);
    }
    drain = {
      simMs: clock.now() - drainFrom,
      quiet,
      rate: perNodePerSecond(traffic, n, (clock.now() - drainFrom) / 1000),
      wallMs: performance.now() - wall0,
    };
  } else {
    // Formed: every node starts at once (each at a random phase of its own rounds)
    // and runs a few rounds before anything is measured.
    for (const node of nodes) node.membership.start([]).catch(() => {});
    runUntil(() => false, 5000);
    join = { times: spread([], 0), rate: perNodePerSecond(emptyTraffic(), n, 1), simMs: 0, wallMs: 0 };
  }

  // ---- steady ---------------------------------------------------------------
  wall0 = performance.now();
  traffic = emptyTraffic();
  const steadyFrom = clock.now();
  const suspicionsBefore = suspicions;
  const falseBefore = falseDeaths;
  run = wallLeft() ? runUntil(() => false, options.steadyMs) : { simMs: 0, stopped: "wall budget" };
  if (formed && run.stopped === "wall budget") join.stopped ??= "wall budget";
  const steady = {
    rate: perNodePerSecond(traffic, n, (clock.now() - steadyFrom) / 1000),
    simMs: clock.now() - steadyFrom,
    wallMs: performance.now() - wall0,
    suspicions: suspicions - suspicionsBefore,
    falseDeaths: falseDeaths - falseBefore,
  };
  note(`steady window: ${steady.rate.messages.toFixed(2)} msgs/node/s`, wall0);

  // ---- a newcomer (formed) ----------------------------------------------------
  if (formed && !wallLeft()) join.stopped = "wall budget";
  if (formed && wallLeft()) {
    wall0 = performance.now();
    const record = makeRecord(n);
    const newcomer = addNode(n, record);
    watchJoinOf = record.id;
    joinSeen = new Map();
    traffic = emptyTraffic();
    const joinAt = clock.now();
    newcomer.membership.start([nodes[0]!.address]).catch(() => {});
    let seesAll: number | null = null;
    run = runUntil(() => {
      if (seesAll === null && newcomer.membership.stats().active === n + 1) seesAll = clock.now() - joinAt;
      return joinSeen.size === n && seesAll !== null;
    }, options.phaseLimitMs);
    join = phase(joinAt, joinSeen, n, run, wall0, joinAt, n + 1);
    newcomerSeesAllMs = seesAll;
    watchJoinOf = null;
    note(`newcomer seen by all after ${(join.times.max / 1000).toFixed(1)} s, sees all after ${seesAll === null ? "–" : ((seesAll as number) / 1000).toFixed(1)} s`, wall0);
  }

  const result: SimWorldResult = {
    n,
    seed,
    loss: options.loss,
    start: formed ? "formed" : "joins",
    join,
    drain,
    steady,
    falseDeaths: 0,
    network: net.stats,
    wallMs: 0,
    peakHeapBytes: 0,
    digest: "",
  };
  if (formed) result.newcomerSeesAllMs = newcomerSeesAllMs ?? null;

  // ---- a crash --------------------------------------------------------------
  if (wallLeft() && !join.stopped) {
    wall0 = performance.now();
    const victim = nodes[1 + Math.floor(scenarioRandom() * (n - 1))]!;
    victim.crashed = true;
    watchDeathOf = victim.id;
    deathSeen = new Map();
    void victim.membership.stop();
    const crashAt = clock.now();
    traffic = emptyTraffic();
    const others = live().length;
    run = runUntil(() => deathSeen.size === others, options.phaseLimitMs);
    result.crash = phase(crashAt, deathSeen, others, run, wall0, crashAt, others);
    watchDeathOf = null;
    note(result.crash.stopped ? `crash phase stopped (${result.crash.stopped})` : `crash seen dead by all after ${(result.crash.times.max / 1000).toFixed(1)} s`, wall0);
  }

  // ---- a partition, healed --------------------------------------------------
  if (options.partitionMs > 0 && result.crash && !result.crash.stopped && wallLeft()) {
    wall0 = performance.now();
    const alive = live();
    // Node 0 stays with the majority; the group cut off is the last `group` nodes.
    const group = options.partitionGroup && options.partitionGroup > 0 ? Math.min(options.partitionGroup, alive.length >> 1) : alive.length >> 1;
    const cut = alive.slice(alive.length - group);
    const rest = alive.slice(0, alive.length - group);
    countFalse = false;
    net.partition(
      cut.map((node) => node.address),
      rest.map((node) => node.address),
    );
    // Cut short by the wall budget, the partition did not last: its heal says nothing.
    const partitionRun = runUntil(() => false, options.partitionMs);
    let deadAcross = 0;
    for (const x of cut) {
      for (const y of rest) {
        if (x.membership.get(y.id)?.state === "dead") deadAcross++;
        if (y.membership.get(x.id)?.state === "dead") deadAcross++;
      }
    }
    note(`partition of ${group} nodes for ${options.partitionMs / 1000} s`, wall0);
    net.heal();
    const healAt = clock.now();
    expect(alive.length - 1);
    traffic = emptyTraffic();
    run = runUntil(() => reached.size === alive.length, options.phaseLimitMs);
    result.heal = {
      ...phase(healAt, reached, alive.length, run, wall0, healAt, alive.length),
      partitionMs: options.partitionMs,
      group,
      deadAcrossAtHeal: deadAcross / (2 * cut.length * rest.length),
    };
    if (partitionRun.stopped === "wall budget") result.heal.stopped = "wall budget";
    note(`healed: all see all after ${(result.heal.times.max / 1000).toFixed(1)} s`, wall0);
  }

  for (const node of nodes) void node.membership.stop();
  result.falseDeaths = falseDeaths;
  result.wallMs = performance.now() - wallStart;
  result.peakHeapBytes = peakHeap;
  result.digest = createHash("sha256")
    .update(JSON.stringify([result.join.times, result.steady.rate, result.crash?.times, result.heal?.times, net.stats, suspicions, falseDeaths]))
    .digest("hex")
    .slice(0, 16);
  return result;
}
