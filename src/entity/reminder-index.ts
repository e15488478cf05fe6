/**
 * Where an entity type's reminders can be found without loading every
 * entity: 16 bucket records in the type's store, each mapping the keys that
 * hash to it to their earliest due time. The owner of a bucket (by rendezvous,
 * as for any key) scans it and wakes the entities that are due. An entry may
 * be earlier than the entity's real earliest reminder — the entity finds
 * nothing due and the entry is corrected — but never later: it is written
 * before the entity's state is saved whenever a turn makes a reminder due
 * sooner, so a reminder saved is never missing from the index.
 */
import { hash32 } from "../balance/hash.ts";
import { decodeBody, encodeBody } from "../wire/codec.ts";
import { StoreError, VersionConflictError } from "./errors.ts";
import type { EntityStore } from "./store.ts";

/** Buckets of the index. */
export const REMINDER_BUCKETS = 16;
/** Bucket writes carry this token: they are never under a lease, and never fenced. */
const BUCKET_TOKEN = 1;
const MAX_ROUNDS = 20;

type Entries = Map<string, number>;

/** The reminder index of one entity type in its store. */
export class ReminderIndex {
  readonly #store: EntityStore;
  readonly #prefix: string;

  /** `type` is the entity type's name: its buckets are `<type>~reminders:<n>` in the store. */
  constructor(store: EntityStore, type: string) {
    this.#store = store;
    this.#prefix = `${type}~reminders:`;
  }

  /** The name of bucket `n`: also the key its owner is chosen by. */
  bucketName(n: number): string {
    return `${this.#prefix}${n}`;
  }

  bucketOf(key: string): number {
    return hash32(key) % REMINDER_BUCKETS;
  }

  /** Sets (or, with undefined, removes) the earliest due time of `key`. */
  async set(key: string, due: number | undefined): Promise<void> {
    const name = this.bucketName(this.bucketOf(key));
    // Bounded: each round loses a compare-and-set only to another writer of the bucket.
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const loaded = await this.#store.load(name);
      const entries = loaded.data === undefined ? new Map<string, number>() : decodeEntries(loaded.data);
      if (entries.get(key) === due) return;
      if (due === undefined) entries.delete(key);
      else entries.set(key, due);
      try {
        await this.#store.save(name, encodeBody([...entries]), { expectedVersion: loaded.version, token: BUCKET_TOKEN });
        return;
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
      }
    }
    throw new StoreError("UNAVAILABLE", `reminder index bucket ${name} kept changing`);
  }

  /** The keys of bucket `n` due at `now` or before, earliest first. */
  async due(n: number, now: number): Promise<string[]> {
    const loaded = await this.#store.load(this.bucketName(n));
    if (loaded.data === undefined) return [];
    return [...decodeEntries(loaded.data)]
      .filter(([, due]) => due <= now)
      .sort((a, b) => a[1] - b[1])
      .map(([key]) => key);
  }
}

function decodeEntries(bytes: Uint8Array): Entries {
  const value = decodeBody(bytes, 4);
  if (!Array.isArray(value)) throw new StoreError("CORRUPT", "a reminder index bucket is not a list");
  const entries: Entries = new Map();
  for (const entry of value as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "number") throw new StoreError("CORRUPT", "a reminder index bucket holds a malformed entry");
    entries.set(entry[0], entry[1]);
  }
  return entries;
}

/** The earliest due time of a set of reminders, or undefined when there are none. */
export function earliestDue(reminders: Readonly<Record<string, number>>): number | undefined {
  let earliest: number | undefined;
  for (const name in reminders) {
    const due = reminders[name]!;
    if (earliest === undefined || due < earliest) earliest = due;
  }
  return earliest;
}
