import type { MembershipLogger } from "../membership/types.ts";
import { pageProblem, type CatalogRequest } from "./contract.ts";
import { addHash, CATALOG_LIMITS, formatDigest, parseDigest, viewOf, type CatalogView, type EntryValue } from "./entries.ts";
import type { CatalogPage } from "./own-catalog.ts";

/** Asks the member at `address` for its catalog; yields its pages (checked by the receiver, not trusted). */
export type FetchCatalog = (address: string, request: CatalogRequest, signal: AbortSignal) => AsyncIterable<unknown>;

/** A catalog held of another member. */
interface Held {
  version: number;
  hash: number;
  digest: string;
  entries: Map<string, EntryValue>;
  view: CatalogView;
  /** Parsed service keys, kept from one copy to the next. */
  pairs: Map<string, readonly [string, string]>;
}

/** The state of fetching one member's catalog. */
interface Wanted {
  digest: string;
  address: string;
  running: boolean;
  failures: number;
  retry: (() => void) | undefined;
}

/** Options of {@link RemoteCatalogs}. */
/** Runs `fn` once after `delayMs`; returns what cancels it. A simulation gives its clock's. */
export type SetTimer = (delayMs: number, fn: () => void) => () => void;

/** The system's timers, unreferenced: a pending one never keeps the process alive. */
export const systemTimer: SetTimer = (delay, fn) => {
  const timer = setTimeout(fn, delay);
  timer.unref();
  return () => clearTimeout(timer);
};

export interface RemoteCatalogsOptions {
  fetch: FetchCatalog;
  logger: MembershipLogger;
  /** Called when the catalog held of member `id` changed. */
  onChange: (id: string) => void;
  /** Timers; default the system's. */
  setTimer?: SetTimer;
  /** How long one transfer may take, ms. Default 15 000. */
  fetchTimeout?: number;
}

/** Figures, for tests and metrics. */
export interface RemoteCatalogStats {
  /** Transfers completed, whole and as deltas. */
  full: number;
  deltas: number;
  /** Transfers that failed or were refused (a bad page, a hash that did not match). */
  failed: number;
  /** Entries received. */
  entries: number;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 10_000;

/**
 * The catalogs of the other members, kept current: when a member's gossiped
 * digest differs from the copy held, its catalog (or the changes since the
 * copy's version) is fetched from it over a stream; a transfer that fails is
 * retried with backoff while the digest still differs. Nothing thrown by a
 * transfer leaves this class: a failure is logged and retried.
 */
export class RemoteCatalogs {
  readonly #options: RemoteCatalogsOptions;
  readonly #held = new Map<string, Held>();
  readonly #wanted = new Map<string, Wanted>();
  readonly #abort = new AbortController();
  /** Members whose copy failed its hash check after a delta: fetched whole next time. */
  readonly #wholeNext = new Set<string>();
  readonly #stats: RemoteCatalogStats = { full: 0, deltas: 0, failed: 0, entries: 0 };
  readonly #setTimer: SetTimer;
  /** Transfers running now. */
  readonly #running = new Set<Promise<void>>();

  constructor(options: RemoteCatalogsOptions) {
    this.#options = options;
    this.#setTimer = options.setTimer ?? systemTimer;
  }

  /** The catalog held of member `id`, if any. */
  view(id: string): CatalogView | undefined {
    return this.#held.get(id)?.view;
  }

  /** The digest of the copy held of member `id`. */
  heldDigest(id: string): string | undefined {
    return this.#held.get(id)?.digest;
  }

  stats(): RemoteCatalogStats {
    return { ...this.#stats };
  }

  /**
   * Member `id` gossips `digest` and is reached at `address`: fetch its
   * catalog unless the copy held already says the same. An unreadable digest
   * or no address: nothing to fetch.
   */
  want(id: string, digest: string | undefined, address: string | undefined): void {
    if (this.#abort.signal.aborted) return;
    if (digest === undefined || parseDigest(digest) === undefined || address === undefined || this.#held.get(id)?.digest === digest) {
      this.#drop(id);
      return;
    }
    const wanted = this.#wanted.get(id);
    if (wanted) {
      const fresh = wanted.digest !== digest;
      wanted.digest = digest;
      wanted.address = address;
      // A new digest need not wait out the backoff of a failed transfer of an older one.
      if (fresh && !wanted.running) {
        wanted.retry?.();
        wanted.retry = undefined;
        this.#run(id, wanted);
      }
      return;
    }
    const entry: Wanted = { digest, address, running: false, failures: 0, retry: undefined };
    this.#wanted.set(id, entry);
    this.#run(id, entry);
  }

  /**
   * Resolves once the transfers running now have ended (done or failed), or
   * after `limitMs`: a node that just joined waits for the catalogs of the
   * members it learned, so that its first look-up finds what they serve.
   */
  async idle(limitMs: number): Promise<void> {
    if (this.#running.size === 0) return;
    let cancel: (() => void) | undefined;
    await Promise.race([
      Promise.allSettled([...this.#running]),
      new Promise<void>((resolve) => {
        cancel = this.#setTimer(limitMs, resolve);
      }),
    ]);
    cancel?.();
  }

  /** Forgets member `id` (reaped, or restarted under a new id). */
  forget(id: string): void {
    this.#drop(id);
    this.#wholeNext.delete(id);
    this.#held.delete(id);
  }

  /** Ids of the members a catalog is held of. */
  ids(): string[] {
    return [...this.#held.keys()];
  }

  /** Stops every transfer and retry. */
  close(): void {
    this.#abort.abort();
    for (const wanted of this.#wanted.values()) wanted.retry?.();
    this.#wanted.clear();
  }

  #drop(id: string): void {
    const wanted = this.#wanted.get(id);
    if (!wanted) return;
    wanted.retry?.();
    // A running transfer sees it is no longer wanted when it ends.
    this.#wanted.delete(id);
  }

  #run(id: string, wanted: Wanted): void {
    wanted.running = true;
    const digest = wanted.digest;
    const transfer = this.#transfer(id, wanted.address);
    this.#running.add(transfer);
    void transfer
      .then(
        () => {
          wanted.failures = 0;
        },
        (error: unknown) => {
          this.#stats.failed++;
          wanted.failures++;
          this.#options.logger.debug({ err: error, member: id, address: wanted.address }, "fetching a member's catalog failed; retried");
        },
      )
      .finally(() => {
        this.#running.delete(transfer);
        wanted.running = false;
        if (this.#wanted.get(id) !== wanted || this.#abort.signal.aborted) return;
        const held = this.#held.get(id)?.digest;
        if (held === wanted.digest) {
          this.#wanted.delete(id);
          return;
        }
        if (wanted.failures === 0 && wanted.digest !== digest) return this.#run(id, wanted);
        // The transfer failed, or brought another version than gossiped (older: the
        // gossip is ahead; newer: the gossip will catch up and match): retry later.
        const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(wanted.failures, 10));
        wanted.retry = this.#setTimer(delay, () => {
          wanted.retry = undefined;
          if (this.#wanted.get(id) === wanted && !wanted.running) this.#run(id, wanted);
        });
      });
  }

  /** One transfer: pages applied to a copy, which replaces the held one only when complete and matching its hash. */
  async #transfer(id: string, address: string): Promise<void> {
    const held = this.#wholeNext.has(id) ? undefined : this.#held.get(id);
    const token = this.#wanted.get(id);
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#options.fetchTimeout ?? 15_000)]);
    let copy: Map<string, EntryValue> | undefined;
    let hash = 0;
    let first: CatalogPage | undefined;
    let received = 0;
    for await (const value of this.#options.fetch(address, held ? { since: held.version } : {}, signal)) {
      const problem = pageProblem(value);
      if (problem !== null) throw new RangeError(`member ${id} sent a bad catalog page: ${problem}`);
      const page = value as CatalogPage;
      if (!first) {
        first = page;
        if (!page.full && !held) throw new RangeError(`member ${id} sent a delta to a node holding nothing`);
        copy = page.full ? new Map() : new Map(held!.entries);
        hash = page.full ? 0 : held!.hash;
      } else if (page.version !== first.version || page.full !== first.full || page.hash !== first.hash) {
        throw new RangeError(`member ${id} changed versions in the middle of a transfer`);
      }
      for (const [key, entry] of page.entries) {
        hash = addHash(hash, key, copy!.get(key), -1);
        if (entry === null) copy!.delete(key);
        else {
          copy!.set(key, entry);
          hash = addHash(hash, key, entry, 1);
        }
      }
      received += page.entries.length;
      if (copy!.size > CATALOG_LIMITS.entries) throw new RangeError(`member ${id}'s catalog passes ${CATALOG_LIMITS.entries} entries; refused`);
      if (page.last) break;
    }
    if (!first || !copy) throw new RangeError(`member ${id} ended its catalog transfer before the last page`);
    if (hash !== first.hash) {
      this.#wholeNext.add(id);
      throw new RangeError(`member ${id}'s catalog does not match its hash after the transfer; fetched whole next time`);
    }
    this.#wholeNext.delete(id);
    this.#stats[first.full ? "full" : "deltas"]++;
    this.#stats.entries += received;
    // Forgotten, or no longer wanted, while the transfer ran: keep nothing of it.
    if (this.#wanted.get(id) !== token) return;
    const pairs = held?.pairs ?? new Map<string, readonly [string, string]>();
    this.#held.set(id, { version: first.version, hash, digest: formatDigest(first.version, hash), entries: copy, view: viewOf(copy, pairs), pairs });
    this.#options.onChange(id);
  }
}
