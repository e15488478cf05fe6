import type { Handlers } from "../../rpc/context.ts";
import type { LookupBackend } from "../backend.ts";
import type { MembershipLogger, MemberUpdate } from "../membership/types.ts";
import { reachableAddress } from "../reachable.ts";
import type { Member, MemberRecord, MembershipEvent } from "../types.ts";
import type { CatalogContract } from "./contract.ts";
import { CATALOG_DIGEST_LABEL, CATALOG_LABEL_PREFIX, CATALOG_LIMITS, labelKey, serviceKey, type CatalogView, type EntryValue } from "./entries.ts";
import { OwnCatalog } from "./own-catalog.ts";
import { RemoteCatalogs, systemTimer, type FetchCatalog, type RemoteCatalogStats, type SetTimer } from "./remote-catalogs.ts";

/** Options of {@link CatalogSync}. */
export interface CatalogSyncOptions {
  /** This node's record as the node describes it: every service and label. */
  self: Omit<MemberRecord, "gossip">;
  /** Fetches another member's catalog (over its RPC address: the `amoeba.catalog` service). */
  fetch: FetchCatalog;
  /**
   * Asked when services are new to the catalog: a function that gives the
   * method names of a service this node serves. Default: none listed.
   */
  methods?: () => (name: string, version: string) => readonly string[];
  logger: MembershipLogger;
  /** How long joining waits for the catalogs of the members it learned, ms. Default 2 000. */
  joinWait?: number;
  /** How often every member's digest is compared with the copy held (anti-entropy), ms. Default 5 000. */
  sweepInterval?: number;
  /** Timers (sweeps, retries, the join's wait); default the system's. A simulation gives its clock's. */
  setTimer?: SetTimer;
}

/**
 * Keeps catalogs apart from membership, as Consul keeps its catalog apart
 * from Serf's gossip: the gossiped record says who is alive, where, and a
 * digest (`amoeba.catalog` label: version and hash) of the member's catalog;
 * the catalog — services, their methods, and labels under
 * {@link CATALOG_LABEL_PREFIX} (a gateway's routes) — is fetched over a stream
 * when the digest differs from the copy held. Gossip traffic then does not
 * grow with the services a node serves.
 *
 * {@link wrap} turns the gossip backend into one whose members carry their
 * catalogs, so that everything above the look-up reads services and route
 * labels as before; {@link handlers} serve this node's catalog.
 */
export class CatalogSync {
  readonly #options: CatalogSyncOptions;
  readonly #own = new OwnCatalog();
  readonly #remote: RemoteCatalogs;
  readonly #listeners = new Set<(event: MembershipEvent) => void>();
  /** The newest inner member seen, by id: to announce a catalog that arrived. */
  readonly #latest = new Map<string, Member>();
  readonly #merged = new WeakMap<Readonly<MemberRecord>, { view: CatalogView | undefined; record: Readonly<MemberRecord> }>();
  #gossipLabels: Record<string, string>;
  #pending: Pick<MemberUpdate, "services" | "labels"> = {};
  /** Services and catalog labels of the last change accepted (pending or applied): what the next is checked against. */
  #accepted = { services: 0, labels: 0 };
  #flushQueued = false;
  #inner: LookupBackend | undefined;
  #stopSweep: (() => void) | undefined;

  constructor(options: CatalogSyncOptions) {
    this.#options = options;
    this.#remote = new RemoteCatalogs({ fetch: options.fetch, logger: options.logger, onChange: (id) => this.#arrived(id), ...(options.setTimer ? { setTimer: options.setTimer } : {}) });
    this.#gossipLabels = gossipLabelsOf(options.self.labels);
    this.#apply({ services: options.self.services, labels: options.self.labels });
    this.#accepted = { services: options.self.services.length, labels: catalogLabelCount(options.self.labels) };
  }

  /** Serves this node's catalog: give them to the `amoeba.catalog` service. */
  readonly handlers: Handlers<typeof CatalogContract> = {
    fetch: ({ since }) => this.#own.pages(since),
  };

  /** The record to gossip for `record`: no services, the labels that are not catalog labels, and the digest. */
  gossipRecord<R extends Omit<MemberRecord, "gossip">>(record: R): R {
    return { ...record, services: [], labels: this.#labelsToGossip() };
  }

  /** Transfer figures. */
  stats(): RemoteCatalogStats & { version: number; entries: number } {
    return { ...this.#remote.stats(), version: this.#own.version, entries: this.#own.size };
  }

  /** The gossip backend, with members that carry their catalogs. Call once. */
  wrap(inner: LookupBackend): LookupBackend {
    this.#inner = inner;
    inner.on((event) => this.#onInner(event));
    return {
      start: async () => {
        await inner.start();
        this.#sweepAll();
        // The catalogs of the members learned by joining, so the first look-up finds their services.
        await this.#remote.idle(this.#options.joinWait ?? 2_000);
        this.#stopSweep = this.#every(this.#options.sweepInterval ?? 5_000, () => this.#sweepAll());
      },
      members: () => {
        this.#flush();
        return inner.members().map((member) => this.#merge(member));
      },
      update: (change) => this.#update(change),
      on: (listener) => {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
      },
      leave: async (timeoutMs) => {
        this.#close();
        await inner.leave(timeoutMs);
      },
      stop: async () => {
        this.#close();
        await inner.stop();
      },
    };
  }

  #close(): void {
    this.#stopSweep?.();
    this.#remote.close();
  }

  /** Runs `fn` every `ms` on the given timers (default the system's, unreferenced); returns what stops it. */
  #every(ms: number, fn: () => void): () => void {
    const setTimer = this.#options.setTimer ?? systemTimer;
    let stopped = false;
    let cancel = (): void => {};
    const tick = (): void => {
      if (stopped) return;
      fn();
      cancel = setTimer(ms, tick);
    };
    cancel = setTimer(ms, tick);
    return () => {
      stopped = true;
      cancel();
    };
  }

  /**
   * Changes this node's record: services and catalog labels go to the catalog
   * (its new digest to gossip), the rest to gossip. Limits are checked here,
   * so a change past them is a RangeError at this call; the catalog itself is
   * changed at the end of the current task (or at the next read), so that a
   * burst of changes — a node serving 1,000 services one `serve()` at a time —
   * costs one new version, not one per service.
   */
  #update(change: MemberUpdate): void {
    const inner = this.#inner!;
    const catalog = change.services !== undefined || change.labels !== undefined;
    // The services and catalog labels together: a change that passes a limit only with what is held already is refused here too.
    const accepted = catalog ? checkLimits(change, this.#accepted) : this.#accepted;
    const gossip: MemberUpdate = {};
    if (change.load !== undefined) gossip.load = change.load;
    if (change.addresses !== undefined) gossip.addresses = change.addresses;
    const labels = change.labels && gossipLabelsOf(change.labels);
    // Gossip labels change at once: one the gossip record cannot carry is a RangeError at this call.
    if (labels && !sameLabels(labels, this.#gossipLabels)) gossip.labels = { ...labels, [CATALOG_DIGEST_LABEL]: this.#own.digest };
    if (Object.keys(gossip).length > 0) inner.update(gossip);
    if (labels) this.#gossipLabels = labels;
    // Only once gossip took its part: a change refused there leaves the catalog as it was.
    if (catalog) {
      this.#accepted = accepted;
      if (change.services !== undefined) this.#pending.services = change.services;
      if (change.labels !== undefined) this.#pending.labels = change.labels;
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        queueMicrotask(() => this.#flush());
      }
    }
  }

  /** Applies the pending change of services and labels, and gossips the new digest. */
  #flush(): void {
    this.#flushQueued = false;
    const pending = this.#pending;
    if (pending.services === undefined && pending.labels === undefined) return;
    this.#pending = {};
    let changed: boolean;
    try {
      changed = this.#apply(pending);
    } catch (error) {
      // Checked at the call that made the change; it runs from a microtask or a read: nothing may escape.
      this.#options.logger.warn({ err: error }, "this node's catalog could not take the change; kept as it was");
      return;
    }
    if (!changed) return;
    try {
      this.#inner?.update({ labels: this.#labelsToGossip() });
    } catch (error) {
      // The gossip labels past the packet's limit: checked by the node when it sets them; logged here.
      this.#options.logger.warn({ err: error }, "the gossip record could not take this node's labels; its catalog digest is not spread");
    }
  }

  /** Applies services and labels to the own catalog; whether the catalog changed. */
  #apply(change: Pick<MemberUpdate, "services" | "labels">): boolean {
    let changed = false;
    if (change.services !== undefined) {
      const next = new Map<string, EntryValue>();
      let methodsOf: ((name: string, version: string) => readonly string[]) | undefined;
      for (const [name, version] of change.services) {
        const key = serviceKey(name, version);
        // A service version's methods do not change while it is served: asked once.
        const methods = this.#own.get(key) ?? (methodsOf ??= this.#options.methods?.() ?? (() => []))(name, version);
        next.set(key, methods.length > CATALOG_LIMITS.methods ? methods.slice(0, CATALOG_LIMITS.methods) : methods);
      }
      changed = this.#own.replace("s:", next) || changed;
    }
    if (change.labels !== undefined) {
      const next = new Map<string, EntryValue>();
      for (const [key, value] of Object.entries(change.labels)) if (key.startsWith(CATALOG_LABEL_PREFIX)) next.set(labelKey(key), value);
      changed = this.#own.replace("l:", next) || changed;
    }
    return changed;
  }

  #labelsToGossip(): Record<string, string> {
    return { ...this.#gossipLabels, [CATALOG_DIGEST_LABEL]: this.#own.digest };
  }

  #onInner(event: MembershipEvent): void {
    const { member } = event;
    const id = member.record.id;
    this.#latest.set(id, member);
    if (id !== this.#options.self.id) this.#want(member);
    const merged = { type: event.type, member: this.#merge(member) };
    for (const listener of this.#listeners) listener(merged);
  }

  #want(member: Member): void {
    const id = member.record.id;
    if (member.state !== "alive" && member.state !== "suspect") {
      // Not fetched from while gone; the copy held serves if it comes back unchanged.
      this.#remote.want(id, undefined, undefined);
      return;
    }
    this.#remote.want(id, member.record.labels[CATALOG_DIGEST_LABEL], reachableAddress(member.record, this.#options.self.labels.host));
  }

  /** Anti-entropy: every member's digest against the copy held; copies of members no longer known are forgotten. */
  #sweepAll(): void {
    const inner = this.#inner;
    if (!inner) return;
    const known = new Set<string>();
    for (const member of inner.members()) {
      const id = member.record.id;
      known.add(id);
      this.#latest.set(id, member);
      if (id !== this.#options.self.id) this.#want(member);
    }
    for (const id of this.#remote.ids()) if (!known.has(id)) this.#remote.forget(id);
    for (const id of this.#latest.keys()) if (!known.has(id)) this.#latest.delete(id);
  }

  #arrived(id: string): void {
    const member = this.#latest.get(id);
    if (!member) return;
    const event: MembershipEvent = { type: "update", member: this.#merge(member) };
    for (const listener of this.#listeners) listener(event);
  }

  /** The member with its catalog: services, methods and catalog labels from the copy held (or its own). */
  #merge(member: Member): Member {
    const record = member.record;
    const isSelf = record.id === this.#options.self.id;
    const view = isSelf ? this.#own.view : this.#remote.view(record.id);
    // A member that gossips no digest (an older node) keeps the services it gossips.
    if (view === undefined && record.labels[CATALOG_DIGEST_LABEL] === undefined) return member;
    let cached = this.#merged.get(record);
    if (!cached || cached.view !== view) {
      const labels: Record<string, string> = { ...record.labels };
      delete labels[CATALOG_DIGEST_LABEL];
      if (view) Object.assign(labels, view.labels);
      const merged: MemberRecord = {
        ...record,
        services: (view?.services ?? []) as Array<[string, string]>,
        labels: Object.freeze(labels),
      };
      // The methods table is built only when read.
      Object.defineProperty(merged, "methods", { enumerable: true, get: () => view?.methods ?? {} });
      cached = { view, record: Object.freeze(merged) };
      this.#merged.set(record, cached);
    }
    return { record: cached.record, state: member.state, incarnation: member.incarnation, since: member.since };
  }
}

/**
 * Throws a RangeError when services or catalog labels pass the catalog's
 * limits, counting with `held` the part the change leaves as it is; returns
 * the counts after the change.
 */
function checkLimits(change: Pick<MemberUpdate, "services" | "labels">, held: { services: number; labels: number }): { services: number; labels: number } {
  const counts = { services: change.services?.length ?? held.services, labels: change.labels === undefined ? held.labels : 0 };
  for (const [name, version] of change.services ?? []) {
    if (name.length + version.length + 3 > CATALOG_LIMITS.key) {
      throw new RangeError(`service ${name.slice(0, 64)}@${version.slice(0, 32)}: its name and version take more than ${CATALOG_LIMITS.key - 3} characters`);
    }
  }
  for (const [key, value] of Object.entries(change.labels ?? {})) {
    if (!key.startsWith(CATALOG_LABEL_PREFIX)) continue;
    counts.labels++;
    if (key.length + 2 > CATALOG_LIMITS.key) throw new RangeError(`label ${key.slice(0, 64)}…: keys take at most ${CATALOG_LIMITS.key - 2} characters`);
    if (value.length > CATALOG_LIMITS.labelValue) throw new RangeError(`label ${key}: values take at most ${CATALOG_LIMITS.labelValue} characters`);
  }
  const entries = counts.services + counts.labels;
  if (entries > CATALOG_LIMITS.entries) throw new RangeError(`a catalog holds at most ${CATALOG_LIMITS.entries} entries (services and route labels); this change would make ${entries}`);
  return counts;
}

/** The labels of `labels` that travel in the catalog. */
function catalogLabelCount(labels: Readonly<Record<string, string>>): number {
  let count = 0;
  for (const key of Object.keys(labels)) if (key.startsWith(CATALOG_LABEL_PREFIX)) count++;
  return count;
}

/** The labels that travel in gossip: all but catalog labels and the digest. */
function gossipLabelsOf(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    // Defined, not assigned: a `__proto__` key stays a key, for the gossip codec to refuse.
    if (key !== CATALOG_DIGEST_LABEL && !key.startsWith(CATALOG_LABEL_PREFIX)) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}
