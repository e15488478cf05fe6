import type { Logger } from "../logger.ts";
import type { Client, Handlers } from "../rpc/context.ts";
import type { LookupBackend } from "./backend.ts";
import { Catalog } from "./catalog.ts";
import { CatalogSync, type CatalogContract, type FetchCatalog } from "./catalog-sync/index.ts";
import { createMembership, createUdpTransport, type MembershipConfig } from "./membership/index.ts";
import type { RegistryContract } from "./registry/contract.ts";
import { createRegistryBackend, registryAddresses } from "./registry/backend.ts";
import { announceLocally, localSeeds } from "./rendezvous.ts";
import type { MemberRecord } from "./types.ts";

/** How a node joins a look-up service. */
export interface LookupSettings {
  cluster: string;
  /** Gossip addresses (`udp://host:port`) of nodes already in the cluster. Default: the local rendezvous. */
  seeds?: string[];
  /** Where this node listens for gossip. Default `udp://127.0.0.1:0`. */
  gossip?: string;
  /**
   * Registry servers' addresses: client-server look-up instead of gossip. One
   * address, several separated by commas, or a list: the node registers with
   * every one and merges their tables (docs/lookup.md).
   */
  registry?: string | readonly string[];
  /** The cluster key: membership messages are authenticated with it (HMAC-SHA256). */
  clusterKey?: string;
  /** Gossip timing; default: the LAN profile (see docs/lookup.md). */
  membership?: Partial<MembershipConfig>;
  /** Registration TTL with a registry, ms. Default 6000 (heartbeats every 2000). */
  registryTtl?: number;
}

/** A running look-up: its backend, the catalog over it, and how to leave. */
export interface LookupHandle {
  readonly backend: LookupBackend;
  readonly catalog: Catalog;
  /** This node's gossip address, when it gossips. */
  readonly gossip: string | undefined;
  /** This node's catalog, to serve as `amoeba.catalog` (gossip only: members fetch catalogs from each other). */
  readonly catalogService?: Handlers<typeof CatalogContract>;
  /** Leaves gracefully and releases what the look-up holds. */
  leave(): Promise<void>;
}

/** Starts gossip membership or the registry link, as the settings say. */
export async function startLookup(
  settings: LookupSettings,
  self: Omit<MemberRecord, "gossip">,
  deps: {
    registryClient: (address: string) => Client<typeof RegistryContract>;
    logger: Logger;
    /** An engine's own backend (e.g. NATS): used instead of gossip or a registry. */
    backend?: (self: MemberRecord) => LookupBackend;
    /** Fetches a member's catalog (its `amoeba.catalog` service); with it, gossip carries only catalog digests. */
    fetchCatalog?: FetchCatalog;
    /** When services are new to the catalog: a function giving the method names of a service this node serves. */
    methods?: () => (name: string, version: string) => readonly string[];
  },
): Promise<LookupHandle> {
  if (deps.backend) {
    const backend = deps.backend({ ...self, gossip: "" });
    await backend.start();
    return { backend, catalog: new Catalog(backend), gossip: undefined, leave: () => backend.leave() };
  }
  if (settings.registry !== undefined) {
    const backend = createRegistryBackend({
      self: { ...self, gossip: "" },
      registries: registryAddresses(settings.registry).map((address) => ({ address, client: deps.registryClient(address) })),
      ttl: settings.registryTtl,
      logger: deps.logger,
    });
    await backend.start();
    return { backend, catalog: new Catalog(backend), gossip: undefined, leave: () => backend.leave() };
  }
  const transport = await createUdpTransport(settings.gossip ?? "udp://127.0.0.1:0", {
    onError: (error) => deps.logger.debug({ err: error }, "gossip socket error"),
  });
  const sync = deps.fetchCatalog && new CatalogSync({ self, fetch: deps.fetchCatalog, logger: deps.logger, ...(deps.methods ? { methods: deps.methods } : {}) });
  const membership = createMembership({
    self: { ...(sync ? sync.gossipRecord(self) : self), gossip: transport.address },
    transport,
    config: settings.membership,
    key: settings.clusterKey,
    logger: deps.logger,
  });
  // Announce before reading the others: of two nodes starting at once, at least one sees the other.
  const unannounce = await announceLocally(self.cluster, { id: self.id, name: self.name, gossip: transport.address, pid: process.pid });
  const seeds = settings.seeds ?? (await localSeeds(self.cluster, self.id));
  const gossip: LookupBackend = {
    start: () => membership.start(seeds),
    members: () => membership.members(),
    update: (change) => membership.update(change),
    on: (listener) => membership.on(listener),
    leave: (timeoutMs) => membership.leave(timeoutMs),
    stop: () => membership.stop(),
  };
  const backend = sync ? sync.wrap(gossip) : gossip;
  try {
    await backend.start();
  } catch (error) {
    await unannounce();
    await backend.stop();
    throw error;
  }
  return {
    backend,
    catalog: new Catalog(backend),
    gossip: transport.address,
    ...(sync ? { catalogService: sync.handlers } : {}),
    leave: async () => {
      await unannounce();
      await backend.leave();
    },
  };
}
