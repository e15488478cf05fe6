/**
 * What a node sees of its cluster through the look-up: the live instances of
 * each service, the members and their changes, and the nodes declared gone
 * (no call goes there, whatever connection is still open). Its epoch grows
 * whenever instances may have come or gone, so balancers refresh their lists.
 */
import type { Logger } from "../logger.ts";
import type { LookupBackend } from "../lookup/backend.ts";
import { startLookup, type LookupHandle, type LookupSettings } from "../lookup/start-lookup.ts";
import type { Instance, LookupChange, LookupOptions, MemberRecord, Member, MembershipEvent } from "../lookup/types.ts";
import type { RegistryContract } from "../lookup/registry/contract.ts";
import type { CatalogContract, FetchCatalog } from "../lookup/catalog-sync/index.ts";
import type { Client, Handlers } from "../rpc/context.ts";
import { RpcError } from "../rpc/rpc-error.ts";

/** What the view needs to join a look-up. */
export interface JoinDependencies {
  readonly logger: Logger;
  /** A client of the registry server at `address`. */
  registryClient(address: string): Client<typeof RegistryContract>;
  /** Fetches a member's catalog (its `amoeba.catalog` service); with it, gossip carries only catalog digests. */
  fetchCatalog?: FetchCatalog;
  /** When services are new to the catalog: a function giving the method names of a service this node serves. */
  methods?: () => (name: string, version: string) => readonly string[];
  /** The engine's own look-up backend, when it brings one. */
  backend?: (self: MemberRecord) => LookupBackend;
  /** The look-up declared a member dead: close what is still open to it. */
  dead(id: string, name: string): void;
  /** The load figure to spread (calls in flight), read once a second. */
  load(): number;
  /** Counts membership changes, when metrics are on. */
  changed?(type: MembershipEvent["type"]): void;
}

/** A node's view of its cluster's membership. */
export class MembershipView {
  #lookup: LookupHandle | null = null;
  #loadTimer: NodeJS.Timeout | null = null;
  /** Node ids the look-up declared dead or gone. */
  readonly #gone = new Set<string>();
  #epoch = 0;

  /** Grows whenever instances may have come or gone. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Something else changed what a node can reach (a connection came or went). */
  bump(): void {
    this.#epoch++;
  }

  /** Whether the node joined a look-up. */
  get joined(): boolean {
    return this.#lookup !== null;
  }

  /** The gossip address, when the look-up gossips. */
  get gossipAddress(): string | undefined {
    return this.#lookup?.gossip;
  }

  /** Whether the look-up declared node `id` dead or gone. */
  isGone(id: string): boolean {
    return this.#gone.has(id);
  }

  /** Joins the look-up the settings name, as `self`. */
  async join(settings: LookupSettings, self: Omit<MemberRecord, "gossip">, deps: JoinDependencies): Promise<void> {
    if (this.#lookup) throw new Error(`node ${self.name} already joined a look-up`);
    this.#lookup = await startLookup(settings, self, {
      registryClient: deps.registryClient,
      logger: deps.logger,
      ...(deps.fetchCatalog ? { fetchCatalog: deps.fetchCatalog } : {}),
      ...(deps.methods ? { methods: deps.methods } : {}),
      ...(deps.backend ? { backend: deps.backend } : {}),
    });
    this.#lookup.backend.on(({ type, member }) => {
      this.#epoch++;
      deps.changed?.(type);
      const id = member.record.id;
      if (type === "dead" || type === "left") {
        this.#gone.add(id);
        // A partition leaves TCP connections open but silent: close them, so
        // calls in flight fail fast and the next ones go elsewhere.
        if (type === "dead") deps.dead(id, member.record.name);
      } else if (type === "alive" || type === "join") {
        this.#gone.delete(id);
      }
    });
    // Spread the load figure, but only when it changed: each update is gossip.
    let lastLoad = 0;
    this.#loadTimer = setInterval(() => {
      const load = deps.load();
      if (load !== lastLoad) {
        lastLoad = load;
        this.#lookup?.backend.update({ load });
      }
    }, 1_000);
    this.#loadTimer.unref();
  }

  /** Spreads a change of this node's record (services, labels, addresses). */
  update(change: Partial<Pick<MemberRecord, "services" | "labels" | "addresses" | "load">>): void {
    this.#lookup?.backend.update(change);
  }

  /** The live instances of a service (none before joining). */
  lookup(service: string, options: LookupOptions = {}): Instance[] {
    return this.#lookup?.catalog.lookup(service, options) ?? [];
  }

  /** Changes to the instances of a service, until `signal` aborts. */
  watch(service: string, options: LookupOptions, signal: AbortSignal | undefined, node: string): AsyncIterable<LookupChange> {
    return this.#joined(node).catalog.watch(service, options, signal);
  }

  /** Calls `listener` on every change of the membership; returns the function that stops it. */
  onMembership(listener: (event: MembershipEvent) => void, node: string): () => void {
    return this.#joined(node).backend.on(listener);
  }

  /** Every member known, this node included. */
  members(): Member[] {
    return this.#lookup?.backend.members() ?? [];
  }

  /** This node's catalog, as `amoeba.catalog` serves it to the members that fetch it. */
  catalogService(node: string): Handlers<typeof CatalogContract> {
    const served = this.#lookup?.catalogService;
    if (!served) throw new RpcError("UNIMPLEMENTED", `node ${node} gossips no catalog`, { service: "amoeba.catalog", node });
    return served;
  }

  /** Leaves the look-up: others stop choosing this node at once. */
  async leave(): Promise<void> {
    if (this.#loadTimer) clearInterval(this.#loadTimer);
    await this.#lookup?.leave();
  }

  #joined(node: string): LookupHandle {
    if (!this.#lookup) throw new Error(`node ${node} joined no look-up; start it with a cluster, seeds or a registry`);
    return this.#lookup;
  }
}
