/**
 * @module Entities (`amoeba/entity`): serving a contract as an entity type
 * addressed by key, the keyed client, ownership and hand-off; state stores
 * with compare-and-set and fencing, ownership leases, idempotency records,
 * and the turn scheduler and activation table that run one entity's calls
 * one at a time.
 */
export type { EntityStore, Fence, IdempotencyClaim, IdempotencyStore, Lease, LeaseStore, StoredEntity, StoreLimits } from "./store.ts";
export { DEFAULT_STORE_LIMITS } from "./store.ts";
export {
  StoreError,
  VersionConflictError,
  StaleOwnerError,
  LeaseHeldError,
  BadStoreInputError,
  type StoreErrorCode,
} from "./errors.ts";
export { findCompleted, recordCompleted, type CompletedCall } from "./idempotency.ts";
export { decodeEntityDocument, encodeEntityDocument, type EntityDocument } from "./entity-document.ts";
export { openDirectoryStore, type DirectoryStoreOptions } from "./directory-store.ts";
export { openRedisStore, type RedisStoreOptions } from "./redis-store.ts";
export { openPostgresStore, type PostgresStoreOptions } from "./postgres-store.ts";
export { TurnQueue, type TurnKind, type TurnQueueOptions } from "./turn-queue.ts";
export { ActivationTable, REAL_TIMERS, type ActivationTableOptions, type Timers, type Turn } from "./activation-table.ts";
export { openNatsKvStore, type NatsKvStoreOptions } from "./nats-kv-store.ts";
export { StoredEntities, type StoredEntitiesOptions, type TurnOutcome } from "./stored-entities.ts";
export { serveEntity } from "./serve-entity.ts";
export { entities, type EntityClient, type ClientMaker } from "./entity-client.ts";
export type { Entity, EntityHandlerOf, EntityHandlers, EntityTypeOptions, ServedEntityType } from "./entity-types.ts";
export { idempotentCalls, type IdempotentCallsOptions } from "./idempotent-calls.ts";
export { serveSingleton, singleton } from "./singleton.ts";
