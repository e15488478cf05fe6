/**
 * The entity a turn's handler gets: its key, its state, and its reminders,
 * which a write turn may set and cancel (copied on the first change, so the
 * activation's own set changes only when the turn is saved).
 */
import type { Entity } from "./entity-types.ts";
import type { Reminders } from "./stored-entities.ts";

/** At most this many reminders per entity. */
const MAX_REMINDERS = 100;
/** The furthest a reminder may be set: about ten years. */
const MAX_DELAY_MS = 10 * 366 * 24 * 3600_000;

/** The entity of a write turn. */
export class TurnEntity<S> implements Entity<S> {
  readonly key: string;
  state: S;
  #reminders: Record<string, number>;
  #changed = false;
  readonly #names: ReadonlySet<string>;
  readonly #type: string;

  /** `names`: the reminders the type has handlers for. */
  constructor(type: string, key: string, state: S, reminders: Reminders, names: ReadonlySet<string>) {
    this.#type = type;
    this.key = key;
    this.state = state;
    this.#reminders = reminders as Record<string, number>;
    this.#names = names;
  }

  get reminders(): Reminders {
    return this.#reminders;
  }

  /** The reminders after the turn, when it changed them. */
  get changedReminders(): Reminders | undefined {
    return this.#changed ? this.#reminders : undefined;
  }

  remind(name: string, inMs: number): void {
    if (!this.#names.has(name)) {
      throw new TypeError(`${this.#type}: no reminder ${JSON.stringify(name)}: serve the type with reminders: { ${JSON.stringify(name)}: (entity, reminder) => … }`);
    }
    if (typeof inMs !== "number" || !(inMs >= 0) || inMs > MAX_DELAY_MS) throw new TypeError(`${this.#type}: a reminder's delay must be 0 to ${MAX_DELAY_MS} ms, got ${String(inMs)}`);
    if (!(name in this.#reminders) && Object.keys(this.#reminders).length >= MAX_REMINDERS) {
      throw new TypeError(`${this.#type}: an entity may have at most ${MAX_REMINDERS} reminders`);
    }
    this.#write()[name] = Date.now() + inMs;
  }

  forget(name: string): void {
    if (name in this.#reminders) delete this.#write()[name];
  }

  #write(): Record<string, number> {
    if (!this.#changed) {
      this.#reminders = Object.assign(Object.create(null) as Record<string, number>, this.#reminders);
      this.#changed = true;
    }
    return this.#reminders;
  }
}

/** The entity as a read-only turn sees it: assigning its state, or setting a reminder, is a TypeError. */
export function readView<S>(key: string, state: S, reminders: Reminders): Entity<S> {
  const readOnly = (): never => {
    throw new TypeError("a read-only turn cannot set or cancel reminders");
  };
  return Object.freeze({
    key,
    get state() {
      return state;
    },
    reminders,
    remind: readOnly,
    forget: readOnly,
  }) as Entity<S>;
}
