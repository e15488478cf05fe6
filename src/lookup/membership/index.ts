/** @module Peer-to-peer membership for look-up: SWIM gossip with the Lifeguard refinements. */
export type { Clock, GossipTransport, Member, MemberRecord, MemberState, MembershipEvent, MembershipLogger } from "./types.ts";
export {
  createMembership,
  type Membership,
  type MembershipOptions,
  type MembershipStats,
  type MemberUpdate,
} from "./membership.ts";
export {
  DEFAULT_MEMBERSHIP_CONFIG,
  FAST_MEMBERSHIP_CONFIG,
  detectionBound,
  resolveConfig,
  retransmitLimit,
  suspicionBounds,
  type MembershipConfig,
} from "./config.ts";
export { systemClock } from "./clock.ts";
export { createUdpTransport, parseUdpAddress, type UdpTransport, type UdpTransportOptions } from "./udp-transport.ts";
export { SimClock, SimNetwork, seededRandom, SIM_MAX_DATAGRAM, type LinkOptions, type SimNetworkStats } from "./sim-network.ts";
