import { DEFAULT_WIRE_LIMITS, type WireLimits } from "../wire/index.ts";

/** Every limit a node enforces, with defaults. All can be set in `startNode({ limits })`. */
export interface Limits extends WireLimits {
  /** Calls one connection may have in flight at the callee; past it, RESOURCE_EXHAUSTED. */
  maxConcurrentCalls: number;
  /** A connection that has not completed the handshake by then is closed (ms). */
  handshakeTimeout: number;
  /** A connection with no calls, no subscriptions and no traffic for this long is closed (ms; 0 = never). */
  idleTimeout: number;
  /** Items a stream receiver lets the sender send ahead of its reading. */
  streamWindow: number;
  /** A connection with calls in flight that received nothing for this long sends a PING (ms; 0 = no keepalive). See src/rpc/keepalive.ts. */
  keepaliveInterval: number;
  /** No frame within this long after a PING: the connection is dead, and destroyed (ms). */
  keepaliveTimeout: number;
}

/** The defaults. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  ...DEFAULT_WIRE_LIMITS,
  maxConcurrentCalls: 1024,
  handshakeTimeout: 5_000,
  idleTimeout: 300_000,
  streamWindow: 64,
  keepaliveInterval: 1_000,
  keepaliveTimeout: 2_000,
});

/** Fills in defaults and checks every number given. */
export function resolveLimits(partial: Partial<Limits> | undefined): Limits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
      throw new TypeError(`limits.${key} must be a finite number ≥ 0, got ${String(value)}`);
    }
  }
  if (limits.streamWindow < 1) throw new TypeError("limits.streamWindow must be at least 1");
  return limits;
}

/** Whether `meta` is a metadata object within `maxSize` bytes. */
export function isValidMeta(meta: unknown, maxSize: number): meta is Record<string, string> {
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) return false;
  let size = 0;
  for (const key in meta) {
    const value = (meta as Record<string, unknown>)[key];
    if (typeof value !== "string") return false;
    size += key.length + value.length;
    if (size > maxSize) return false;
  }
  return true;
}
