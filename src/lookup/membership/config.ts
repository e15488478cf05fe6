/**
 * Timing and sizes of the protocol. The defaults follow the usual LAN profile of
 * SWIM implementations; all durations are in milliseconds.
 */
export interface MembershipConfig {
  /** Time between two probes of a member (one member probed per round). */
  probeInterval: number;
  /** How long a direct probe waits for its ack before asking others to probe. */
  probeTimeout: number;
  /** How many members probe a silent member on our behalf (indirect probes). */
  indirectChecks: number;
  /**
   * Scales the shortest suspicion timeout:
   * `suspicionMultiplier × max(1, log10(n)) × probeInterval`.
   */
  suspicionMultiplier: number;
  /** The longest suspicion timeout, as a multiple of the shortest; confirmations shrink it towards the shortest. */
  suspicionMaxTimeoutMultiplier: number;
  /**
   * Local health (Lifeguard): a node that misses acks and nacks suspects itself of
   * being slow and stretches its probe interval and timeouts up to this factor.
   */
  awarenessMaxMultiplier: number;
  /** Time between two rounds of piggybacked gossip. */
  gossipInterval: number;
  /** How many members each gossip round sends to. */
  gossipNodes: number;
  /** Dead members still receive gossip this long, so that a healed partition hears of itself. */
  gossipToTheDead: number;
  /** Each broadcast is sent `retransmitMultiplier × ceil(log10(n + 1))` times. */
  retransmitMultiplier: number;
  /**
   * Time between two full-state exchanges with a random member (anti-entropy),
   * stretched beyond 32 members. Each round also tries one dead member, which is
   * how two sides of a healed partition meet again.
   */
  pushPullInterval: number;
  /** How long `start` waits for a seed to answer before it returns (retries go on). */
  joinTimeout: number;
  /** While no other member is known, the seeds are tried again this often. */
  joinRetryInterval: number;
  /** Dead and left members are kept this long, then forgotten. */
  reapInterval: number;
  /** How long `leave` waits for its announcement to be sent. */
  leaveTimeout: number;
  /** Largest gossip datagram (probes with piggybacked broadcasts), in bytes: below a LAN MTU. */
  maxPacketSize: number;
  /**
   * Largest push-pull datagram, in bytes. The full state travels in one datagram,
   * so a view larger than this is sent in part: self and live members first.
   */
  maxPushPullSize: number;
}

/** The LAN profile: a crash is detected in seconds, gossip stays light. */
export const DEFAULT_MEMBERSHIP_CONFIG: Readonly<MembershipConfig> = Object.freeze({
  probeInterval: 1000,
  probeTimeout: 500,
  indirectChecks: 3,
  suspicionMultiplier: 4,
  suspicionMaxTimeoutMultiplier: 6,
  awarenessMaxMultiplier: 8,
  gossipInterval: 200,
  gossipNodes: 3,
  gossipToTheDead: 30_000,
  retransmitMultiplier: 4,
  pushPullInterval: 30_000,
  joinTimeout: 5000,
  joinRetryInterval: 5000,
  reapInterval: 3_600_000,
  leaveTimeout: 5000,
  maxPacketSize: 1400,
  maxPushPullSize: 60_000,
});

/** Ten times faster than the default, for tests and simulations on one machine. */
export const FAST_MEMBERSHIP_CONFIG: Readonly<MembershipConfig> = Object.freeze({
  ...DEFAULT_MEMBERSHIP_CONFIG,
  probeInterval: 100,
  probeTimeout: 50,
  gossipInterval: 20,
  gossipToTheDead: 3000,
  pushPullInterval: 3000,
  joinTimeout: 500,
  joinRetryInterval: 500,
  reapInterval: 360_000,
  leaveTimeout: 500,
});

/** Fills in defaults and refuses values the protocol cannot run with. */
export function resolveConfig(config: Partial<MembershipConfig> = {}): MembershipConfig {
  const out: MembershipConfig = { ...DEFAULT_MEMBERSHIP_CONFIG };
  for (const [key, value] of Object.entries(config) as Array<[keyof MembershipConfig, unknown]>) {
    if (value === undefined || !(key in DEFAULT_MEMBERSHIP_CONFIG)) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`membership config ${key} must be a finite number ≥ 0, got ${String(value)}`);
    }
    out[key] = value;
  }
  if (out.probeInterval <= 0 || out.gossipInterval <= 0 || out.pushPullInterval <= 0 || out.joinRetryInterval <= 0) {
    throw new RangeError("membership intervals must be > 0");
  }
  if (out.probeTimeout <= 0 || out.probeTimeout >= out.probeInterval) {
    throw new RangeError("membership probeTimeout must be > 0 and < probeInterval (indirect probes need the rest)");
  }
  if (out.suspicionMultiplier < 1 || out.suspicionMaxTimeoutMultiplier < 1 || out.awarenessMaxMultiplier < 1) {
    throw new RangeError("membership multipliers must be ≥ 1");
  }
  if (out.maxPacketSize < 512 || out.maxPushPullSize < out.maxPacketSize || out.maxPushPullSize > 65_000) {
    throw new RangeError("membership sizes need 512 ≤ maxPacketSize ≤ maxPushPullSize ≤ 65000 (one UDP datagram)");
  }
  out.indirectChecks = Math.floor(out.indirectChecks);
  out.gossipNodes = Math.max(1, Math.floor(out.gossipNodes));
  return out;
}

/** How many times each broadcast is sent in a cluster of `n` members. */
export function retransmitLimit(config: MembershipConfig, n: number): number {
  return config.retransmitMultiplier * Math.ceil(Math.log10(Math.max(1, n) + 1));
}

/** The shortest and longest suspicion timeouts in a cluster of `n` members (Lifeguard). */
export function suspicionBounds(config: MembershipConfig, n: number): { min: number; max: number } {
  const scale = Math.max(1, Math.log10(Math.max(1, n)));
  const min = config.suspicionMultiplier * scale * config.probeInterval;
  return { min, max: min * config.suspicionMaxTimeoutMultiplier };
}

/**
 * How long a crash of one member of `n` may go unseen by the others, when the
 * network loses nothing and every node is healthy (no Lifeguard stretching):
 *
 * - first suspicion: each node probes every member once per cycle of `n − 1`
 *   rounds in a shuffled order, so some node probes the crashed member within
 *   `2(n − 1)` rounds of `probeInterval` (its own round included);
 * - dead: the suspicion timeout, at most `suspicionBounds().max`, runs out on every
 *   node that heard the suspicion;
 * - spreading: a suspicion or death is gossiped for `retransmitLimit(n)` rounds of
 *   `gossipInterval`.
 *
 * `bound = 2(n − 1)·probeInterval + max suspicion + 2·retransmitLimit(n)·gossipInterval`.
 * The first two terms are worst cases; typical detection takes a round or two
 * plus the shortest suspicion timeout. With the defaults and n = 5: 8 s + 24 s +
 * 1.6 s = 33.6 s worst case, about 5 s typically.
 */
export function detectionBound(config: MembershipConfig, n: number): number {
  const rounds = 2 * Math.max(1, n - 1) * config.probeInterval;
  const spread = 2 * retransmitLimit(config, n) * config.gossipInterval;
  return rounds + suspicionBounds(config, n).max + spread;
}
