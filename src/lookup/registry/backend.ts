import type { Logger } from "../../logger.ts";
import type { Client } from "../../rpc/context.ts";
import type { LookupBackend } from "../backend.ts";
import type { MemberRecord, MembershipEvent } from "../types.ts";
import type { RegistryContract } from "./contract.ts";
import { MergedView } from "./merged-view.ts";
import { RegistryLink } from "./registry-link.ts";

/** Options of a node's links to one or more registry servers. */
export interface RegistryBackendOptions {
  self: MemberRecord;
  /** The registry servers' addresses (at least one), and a client of each. */
  registries: ReadonlyArray<{ address: string; client: Client<typeof RegistryContract> }>;
  /** How long a registry keeps this node's record without a heartbeat (ms). Default 6000. */
  ttl?: number;
  logger: Logger;
}

/**
 * Client-server look-up over one or more registry servers. The node
 * registers with every registry and heartbeats each (every ttl/3), follows
 * each one's table through a watch, and merges what they say: a member is
 * alive when any reachable registry lists it alive. What a registry said last
 * is kept while it is unreachable, and while a restarted registry is younger
 * than the TTL (its table is still filling up), so neither an outage nor a
 * restart removes a live member; a member goes when the registries that are
 * up, and have been up a TTL, no longer list it alive. See docs/lookup.md.
 */
export function createRegistryBackend(options: RegistryBackendOptions): LookupBackend {
  if (options.registries.length === 0) throw new TypeError("a registry look-up needs at least one registry address");
  const ttl = options.ttl ?? 6_000;
  const listeners = new Set<(event: MembershipEvent) => void>();
  let self: MemberRecord = options.self;
  let running = false;
  let heartbeat: NodeJS.Timeout | null = null;
  let seq = 0;
  const view = new MergedView(
    () => links,
    (event) => {
      for (const listener of listeners) listener(event);
    },
  );
  const host = {
    self: () => self,
    ttl,
    changed: (id?: string) => view.reconcile(id),
    nextSeq: () => ++seq,
    logger: options.logger,
  };
  const links = options.registries.map(({ address, client }) => new RegistryLink(address, client, host));
  const registerAll = (): void => {
    for (const link of links) void link.register();
  };
  const stopAll = (): void => {
    running = false;
    if (heartbeat) clearInterval(heartbeat);
    for (const link of links) link.stop();
  };

  return {
    async start() {
      running = true;
      heartbeat = setInterval(registerAll, ttl / 3);
      heartbeat.unref();
      // Each link registers before it reads; start-up waits for every first read (or its failure).
      await Promise.all(links.map((link) => link.start()));
    },
    members() {
      return [{ record: self, state: "alive", incarnation: 0, since: 0 }, ...view.members()];
    },
    update(change) {
      self = { ...self, ...change };
      if (running) registerAll();
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async leave(timeoutMs = 1_000) {
      stopAll();
      await Promise.all(links.map((link) => link.deregister(timeoutMs)));
    },
    async stop() {
      stopAll();
    },
  };
}

/** The registry addresses of a `registry` setting: one address, a comma-separated list, or a list. */
export function registryAddresses(setting: string | readonly string[]): string[] {
  const all = (typeof setting === "string" ? setting.split(",") : [...setting]).map((address) => address.trim()).filter((address) => address !== "");
  if (all.length === 0) throw new TypeError("registry: give at least one registry address");
  return [...new Set(all)];
}
