/**
 * Timing and sizes of the protocol; all durations are in milliseconds. The
 * defaults are memberlist's LAN profile with the probe round halved and the
 * gossip round of its local profile, so that a crash is seen everywhere within
 * about 5 s up to ~100 members (see {@link DEFAULT_MEMBERSHIP_CONFIG}).
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
  /** Each broadcast is sent `max(retransmitMin, retransmitMultiplier × ceil(log10(n + 1)))` times. */
  retransmitMultiplier: number;
  /**
   * The least number of times each broadcast is sent, whatever `n`: in a small
   * cluster `retransmitMultiplier × ceil(log10(n + 1))` is only 4, and one lost
   * datagram would leave a member to wait for anti-entropy.
   */
  retransmitMin: number;
  /**
   * Time between two anti-entropy exchanges with a random member. An exchange
   * sends a digest of the view (a fixed number of bucket hashes); only buckets
   * that differ carry records back and forth, so the interval need not stretch
   * with the cluster's size. Each round also tries one dead member, which is how
   * two sides of a healed partition meet again.
   */
  pushPullInterval: number;
  /** How long `start` waits for a seed to answer before it returns (retries go on). */
  joinTimeout: number;
  /** While no other member is known, the seeds are tried again this often. */
  joinRetryInterval: number;
  /**
   * Dead and left members are kept this long, then forgotten. Until then they
   * also travel in anti-entropy with their age, so a newcomer lists them too and
   * forgets them when the older members do.
   */
  reapInterval: number;
  /** How long `leave` waits for its announcement to be sent. */
  leaveTimeout: number;
  /** Largest gossip datagram (probes with piggybacked broadcasts), in bytes: below a LAN MTU. */
  maxPacketSize: number;
  /**
   * Largest anti-entropy datagram, in bytes. The records of the buckets that
   * differ travel in one datagram each way; when they do not fit, a part is
   * sent (self and live members first) and the next exchange sends more.
   */
  maxPushPullSize: number;
}

/**
 * The defaults: memberlist's LAN profile (1 s probes, suspicion multiplier 4,
 * gossip every 200 ms) made faster where detection time is spent, so that a
 * crash is seen by every member within 5 s from 8 to ~100 members on a loaded
 * machine:
 *
 * - `probeInterval` 500 ms, `probeTimeout` 250 ms (the LAN ratio): some member
 *   probes the crashed one within about one round (every member probes one
 *   member per round, so the crashed one is probed about once per round), and the
 *   failed probe ends one round later;
 * - `suspicionMultiplier` 3 (memberlist's local profile): the shortest
 *   suspicion is `3 × max(1, log10 n) × 0.5 s` = 1.5 s at n ≤ 10, 1.8 s at 16,
 *   2.3 s at 32, 2.7 s at 64, 3 s at 100; one independent confirmation brings a
 *   suspicion down to it (`suspicionMultiplier − 2`), and with dozens of members
 *   probing, one comes within about a round;
 * - `gossipInterval` 100 ms to 3 members (memberlist's local profile): the death
 *   reaches 64 members in about 4 rounds (log3 64), 0.4 s;
 * - `retransmitMin` 8: no broadcast is sent fewer than 8 times, whatever n.
 *
 * Typical detection is then about 2 rounds + the shortest suspicion + the
 * spread: 1 + 1.5 + 0.3 ≈ 2.8 s at 8 members, 1 + 2.7 + 0.4 ≈ 4.1 s at 64.
 * The worst case, {@link detectionBound}, is longer (a lone suspicion, an
 * unlucky probe order). A member stopped or starved for less than the shortest
 * suspicion (1.5 s at 8 members) refutes in time; Lifeguard's local health
 * stretches the timeouts of a node that is itself slow (up to 8×).
 */
export const DEFAULT_MEMBERSHIP_CONFIG: Readonly<MembershipConfig> = Object.freeze({
  probeInterval: 500,
  probeTimeout: 250,
  indirectChecks: 3,
  suspicionMultiplier: 3,
  suspicionMaxTimeoutMultiplier: 6,
  awarenessMaxMultiplier: 8,
  gossipInterval: 100,
  gossipNodes: 3,
  gossipToTheDead: 30_000,
  retransmitMultiplier: 4,
  retransmitMin: 8,
  pushPullInterval: 30_000,
  joinTimeout: 5000,
  joinRetryInterval: 5000,
  reapInterval: 3_600_000,
  leaveTimeout: 5000,
  maxPacketSize: 1400,
  maxPushPullSize: 60_000,
});

/**
 * For tests and simulations on one machine: probing and gossip five times faster
 * than the default (the same ratios, so the same suspicion multipliers apply),
 * dissemination to the dead, anti-entropy and joins ten times faster.
 */
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

/** How many times each broadcast is sent in a cluster of `n` members: `max(retransmitMin, retransmitMultiplier × ceil(log10(n + 1)))`. */
export function retransmitLimit(config: MembershipConfig, n: number): number {
  return Math.max(config.retransmitMin, config.retransmitMultiplier * Math.ceil(Math.log10(Math.max(1, n) + 1)));
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
 * plus the shortest suspicion timeout. With the defaults and n = 5: 4 s + 9 s +
 * 1.6 s = 14.6 s worst case, about 3 s typically; n = 64: 63 s + 16.3 s + 1.6 s
 * ≈ 81 s worst case (a lone suspicion, the probe order at its worst), about
 * 4 s typically.
 */
export function detectionBound(config: MembershipConfig, n: number): number {
  const rounds = 2 * Math.max(1, n - 1) * config.probeInterval;
  const spread = 2 * retransmitLimit(config, n) * config.gossipInterval;
  return rounds + suspicionBounds(config, n).max + spread;
}
