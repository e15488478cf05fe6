import type { Logger } from "../../logger.ts";
import type { Client } from "../../rpc/context.ts";
import type { LookupBackend } from "../backend.ts";
import type { Member, MemberRecord, MembershipEvent } from "../types.ts";
import type { RegistryContract } from "./contract.ts";

/** Options of a node's link to a registry server. */
export interface RegistryBackendOptions {
  self: MemberRecord;
  /** A client of the registry server. */
  registry: Client<typeof RegistryContract>;
  /** How long the registry keeps this node's record without a heartbeat (ms). Default 6000. */
  ttl?: number;
  logger: Logger;
}

/**
 * Client-server look-up: registers this node with a registry server and keeps
 * it registered with heartbeats (every ttl/3), and mirrors the registry's
 * member table through a watch. If the registry restarts, the next heartbeat
 * registers again and the watch reconnects and resynchronises.
 */
export function createRegistryBackend(options: RegistryBackendOptions): LookupBackend {
  const ttl = options.ttl ?? 6_000;
  const registry = options.registry;
  const listeners = new Set<(event: MembershipEvent) => void>();
  const members = new Map<string, Member>();
  let self: MemberRecord = options.self;
  let running = false;
  let heartbeat: NodeJS.Timeout | null = null;
  let watchAbort: AbortController | null = null;

  const emit = (event: MembershipEvent): void => {
    for (const listener of listeners) listener(event);
  };
  const apply = (event: MembershipEvent): void => {
    // One registry may serve several clusters: this node sees its own only.
    if (event.member.record.id === self.id || event.member.record.cluster !== self.cluster) return;
    members.set(event.member.record.id, event.member);
    emit(event);
  };
  const register = async (): Promise<void> => {
    try {
      await registry.register({ record: self, ttl }, { timeout: ttl / 3 });
    } catch (error) {
      options.logger.warn({ err: error }, "registration with the registry failed; retrying at the next heartbeat");
    }
  };
  const resync = async (): Promise<void> => {
    const current = await registry.members({}, { timeout: ttl / 3 });
    const seen = new Set<string>();
    for (const member of current) {
      seen.add(member.record.id);
      const before = members.get(member.record.id);
      if (!before || before.incarnation !== member.incarnation) apply({ type: before ? "update" : "join", member });
    }
    for (const [id, member] of members) {
      if (!seen.has(id) && member.state !== "dead" && member.state !== "left") {
        apply({ type: "dead", member: { ...member, state: "dead", since: Date.now() } });
      }
    }
  };
  const watchLoop = async (): Promise<void> => {
    let backoff = 100;
    while (running) {
      watchAbort = new AbortController();
      try {
        for await (const event of registry.watch({}, { timeout: Infinity, signal: watchAbort.signal })) {
          apply(event);
          backoff = 100;
        }
      } catch (error) {
        if (!running) return;
        options.logger.debug({ err: error }, "registry watch ended; reconnecting");
      }
      if (!running) return;
      await new Promise((resolve) => setTimeout(resolve, backoff).unref());
      backoff = Math.min(backoff * 2, ttl / 3);
      await resync().catch(() => {});
    }
  };

  return {
    async start() {
      running = true;
      await register();
      await resync().catch((error) => options.logger.warn({ err: error }, "could not read the registry yet"));
      heartbeat = setInterval(() => void register(), ttl / 3);
      heartbeat.unref();
      void watchLoop();
    },
    members() {
      return [{ record: self, state: "alive", incarnation: 0, since: 0 }, ...members.values()];
    },
    update(change) {
      self = { ...self, ...change };
      if (running) void register();
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async leave(timeoutMs = 1_000) {
      running = false;
      if (heartbeat) clearInterval(heartbeat);
      watchAbort?.abort();
      await registry.deregister({ id: self.id }, { timeout: timeoutMs }).catch(() => {});
    },
    async stop() {
      running = false;
      if (heartbeat) clearInterval(heartbeat);
      watchAbort?.abort();
    },
  };
}
