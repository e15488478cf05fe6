/**
 * The activations of one entity type on one node, kept in a state store: the
 * piece the call pipeline's entity stage calls into. An activation takes the
 * key's lease, loads the state, and makes a claim write under the lease's
 * token (fencing off any older owner at once); a write turn runs the handler
 * on the state and saves the new state with the call's idempotency record in
 * one fenced write before it answers; a call whose idempotency key completed
 * within the window is answered from the record without running the handler.
 * A save refused as stale or conflicting drops the activation and refuses the
 * call as unprocessed, so the caller retries at the key's owner; a write turn
 * that fails in any other way drops it too (its handler may have changed the
 * state before it threw), so that a failed turn changes nothing.
 */
import { randomBytes } from "node:crypto";
import { RpcError } from "../rpc/rpc-error.ts";
import { ActivationTable, REAL_TIMERS, type Timers } from "./activation-table.ts";
import { decodeEntityDocument, encodeEntityDocument } from "./entity-document.ts";
import { StaleOwnerError, StoreError, VersionConflictError } from "./errors.ts";
import { findCompleted, recordCompleted, type CompletedCall } from "./idempotency.ts";
import type { EntityStore, Lease } from "./store.ts";
import type { TurnKind } from "./turn-queue.ts";

/** Options of {@link StoredEntities}. */
export interface StoredEntitiesOptions<S> {
  store: EntityStore;
  /** This node's name; the lease owner is it plus a random suffix, so two instances of one name never share a holding. */
  owner: string;
  /** Put before every key in the store (its record and its lease), so that entity types can share one store: the type's name and a colon. Default none. */
  namespace?: string;
  /** The state of a key never saved. */
  initial(key: string): S;
  /** Lease TTL; renewed every third of it. Default 10 s. */
  leaseMs?: number;
  /** Idempotency records kept this long… Default 24 h. */
  retainMs?: number;
  /** …and at most this many per entity. Default 1000. */
  maxRecords?: number;
  /** Passivate after this long idle. Default 5 minutes. */
  idleMs?: number;
  timers?: Timers;
  /** Told of failures no caller sees: a passivation the idle timer started, a lease found taken by a renewal. */
  onError?(key: string, error: unknown): void;
}

/** What a write turn's handler returns: the new state, and the call's result. */
export interface TurnOutcome<S, R> {
  state: S;
  result: R;
  /** The entity's reminders after the turn (name → due, ms since the epoch), saved with the state; unchanged when absent. */
  reminders?: Readonly<Record<string, number>>;
}

/** An entity's reminders: name → when due, ms since the epoch. */
export type Reminders = Readonly<Record<string, number>>;

interface Activation<S> {
  lease: Lease;
  version: number;
  state: S;
  completed: readonly CompletedCall[];
  reminders: Reminders;
  renewal: unknown;
  /** Set when a renewal found the lease taken: the activation must not run another turn. */
  lost: boolean;
  /** Set once it was passivated or discarded: a renewal still under way then schedules no other. */
  stopped: boolean;
}

/** The activations of one entity type on this node. */
export class StoredEntities<S> {
  readonly #options: StoredEntitiesOptions<S>;
  readonly #table: ActivationTable<Activation<S>>;
  readonly #timers: Timers;
  readonly #leaseMs: number;
  readonly #owner: string;

  constructor(options: StoredEntitiesOptions<S>) {
    this.#options = options;
    this.#owner = `${options.owner}/${randomBytes(4).toString("hex")}`;
    this.#timers = options.timers ?? REAL_TIMERS;
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#table = new ActivationTable<Activation<S>>({
      activate: (key) => this.#activate(key),
      passivate: (key, activation) => this.#passivate(key, activation),
      idleMs: options.idleMs,
      timers: this.#timers,
      onError: options.onError,
    });
  }

  /** Keys active on this node. */
  keys(): string[] {
    return this.#table.keys();
  }

  /**
   * A write turn: runs `handler` on the state of `key` and saves what it
   * returns before answering. With `idempotencyKey`, a call that completed
   * within the window answers its recorded result and the handler does not run.
   */
  write<R>(key: string, handler: (state: S, key: string, reminders: Reminders) => TurnOutcome<S, R> | Promise<TurnOutcome<S, R>>, idempotencyKey?: string): Promise<R> {
    return this.#turn(key, "write", async (activation) => {
      if (idempotencyKey !== undefined) {
        const done = findCompleted(activation.completed, idempotencyKey, Date.now(), this.#retainMs);
        if (done) return done.result as R;
      }
      const outcome = await handler(activation.state, key, activation.reminders);
      const reminders = outcome.reminders ?? activation.reminders;
      const now = Date.now();
      const completed =
        idempotencyKey === undefined
          ? activation.completed.filter((call) => call.at > now - this.#retainMs)
          : recordCompleted(activation.completed, { id: idempotencyKey, at: now, result: outcome.result ?? null }, now, this.#retainMs, this.#options.maxRecords ?? 1000);
      const version = await this.#options.store.save(this.#storeKey(key), encodeEntityDocument({ state: outcome.state, completed, reminders }), {
        expectedVersion: activation.version,
        token: activation.lease.token,
      });
      activation.version = version;
      activation.state = outcome.state;
      activation.completed = completed;
      activation.reminders = reminders;
      return outcome.result;
    });
  }

  /** A read-only turn: may run alongside other reads of `key`; saves nothing. */
  read<R>(key: string, handler: (state: S, key: string, reminders: Reminders) => R | Promise<R>): Promise<R> {
    return this.#turn(key, "read", (activation) => handler(activation.state, key, activation.reminders));
  }

  /** Ends the activation of `key` here (a hand-off): turns queued finish, the lease is released. */
  passivate(key: string): Promise<void> {
    return this.#table.passivate(key);
  }

  /** Passivates every key and refuses later calls. */
  close(): Promise<void> {
    return this.#table.close();
  }

  #storeKey(key: string): string {
    return this.#options.namespace === undefined ? key : this.#options.namespace + key;
  }

  get #retainMs(): number {
    return this.#options.retainMs ?? 24 * 3600_000;
  }

  #turn<R>(key: string, kind: TurnKind, body: (activation: Activation<S>) => Promise<R> | R): Promise<R> {
    return this.#table.call(key, kind, async (activation, turn) => {
      if (activation.lost || Date.now() >= activation.lease.validUntil) {
        // The lease may have lapsed with no one taking it: renewing keeps the token, else this node is no owner.
        try {
          await this.#renew(key, activation);
        } catch (error) {
          turn.discard();
          this.#stop(activation);
          throw notOwner(key, error);
        }
      }
      try {
        return await body(activation);
      } catch (error) {
        const lost = error instanceof StaleOwnerError || error instanceof VersionConflictError;
        // A write turn that failed may have changed the state in memory before it threw; a lost
        // save means the store holds another owner's. Either way the next turn starts from the store.
        if (lost || kind === "write") {
          turn.discard();
          this.#stop(activation);
        }
        throw lost ? notOwner(key, error) : error;
      }
    });
  }

  async #activate(key: string): Promise<Activation<S>> {
    const { store } = this.#options;
    const storeKey = this.#storeKey(key);
    const lease = await store.acquire(storeKey, this.#owner, this.#leaseMs).catch((error: unknown) => {
      throw notOwner(key, error);
    });
    try {
      // Bounded: a claim write loses a race only to an older owner's last write, a few times at most.
      for (let round = 0; round < 5; round++) {
        const loaded = await store.load(storeKey);
        const document = loaded.data === undefined ? { state: this.#options.initial(key), completed: [] } : decodeEntityDocument(loaded.data);
        try {
          // The claim write: from here on the store refuses every older token's write.
          const version = await store.save(storeKey, encodeEntityDocument(document), { expectedVersion: loaded.version, token: lease.token });
          const activation: Activation<S> = {
            lease,
            version,
            state: document.state as S,
            completed: document.completed,
            reminders: document.reminders ?? {},
            renewal: undefined,
            lost: false,
            stopped: false,
          };
          this.#scheduleRenewal(key, activation);
          return activation;
        } catch (error) {
          if (!(error instanceof VersionConflictError)) throw error;
        }
      }
      throw new StoreError("UNAVAILABLE", `entity ${JSON.stringify(key)} kept changing while it was activated`);
    } catch (error) {
      await store.release(lease).catch(() => undefined);
      throw error instanceof StaleOwnerError ? notOwner(key, error) : error;
    }
  }

  async #passivate(_key: string, activation: Activation<S>): Promise<void> {
    this.#stop(activation);
    // Every write turn saved already: only the lease is left to give up.
    if (!activation.lost) await this.#options.store.release(activation.lease);
  }

  #scheduleRenewal(key: string, activation: Activation<S>): void {
    activation.renewal = this.#timers.set(() => {
      activation.renewal = undefined;
      this.#renew(key, activation).then(
        () => {
          if (!activation.stopped) this.#scheduleRenewal(key, activation);
        },
        (error: unknown) => {
          // Given up meanwhile (its release makes a renewal under way fail): nothing to report.
          if (activation.stopped) return;
          // A failure to reach the store is tried again; a lease taken by another owner is final.
          if (!activation.lost) this.#scheduleRenewal(key, activation);
          else this.#options.onError?.(key, error);
        },
      );
    }, Math.max(1, Math.floor(this.#leaseMs / 3)));
  }

  async #renew(_key: string, activation: Activation<S>): Promise<void> {
    if (activation.lost) throw new StaleOwnerError(activation.lease.name, activation.lease.token, 0, "lease");
    try {
      activation.lease = await this.#options.store.renew(activation.lease, this.#leaseMs);
    } catch (error) {
      if (error instanceof StaleOwnerError) activation.lost = true;
      throw error;
    }
  }

  #stop(activation: Activation<S>): void {
    activation.stopped = true;
    if (activation.renewal !== undefined) this.#timers.clear(activation.renewal);
    activation.renewal = undefined;
  }
}

/** The error of a call that reached a node that is not (or no longer) the key's owner: unprocessed, so the caller retries at the owner. */
function notOwner(key: string, cause: unknown): RpcError {
  if (cause instanceof RpcError && !(cause instanceof StoreError)) return cause;
  const held = cause instanceof StoreError && (cause.storeCode === "LEASE_HELD" || cause.storeCode === "STALE_OWNER" || cause.storeCode === "VERSION_CONFLICT");
  if (!held) return cause instanceof RpcError ? cause : new RpcError("INTERNAL", String(cause), { cause });
  return new RpcError("UNAVAILABLE", `this node does not own entity ${JSON.stringify(key)}`, { unprocessed: true, cause, details: { key, reason: cause.storeCode } });
}
