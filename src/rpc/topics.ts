import type { Topic } from "./contract.ts";
import { validate } from "./schema.ts";
import type { AnySchema, SchemaOutput } from "./schema.ts";

/** Where an event came from. */
export interface EventInfo {
  topic: string;
  /** The publishing node's name. */
  from: string;
}

/** A subscriber's callback. Its errors are logged, never sent back: events are fire-and-forget. */
export type EventHandler<T = unknown> = (payload: T, info: EventInfo) => void | Promise<void>;

/** A topic given by name, or typed by `topic()`. */
export type TopicRef = string | Topic;

/** The payload type of a topic reference. */
export type PayloadOf<T extends TopicRef> = T extends Topic<string, infer S extends AnySchema> ? SchemaOutput<S> : unknown;

interface Subscription {
  handler: EventHandler<any>;
  schema: AnySchema | undefined;
}

/** The local subscribers of a node, by topic. */
export class TopicTable {
  readonly #byTopic = new Map<string, Set<Subscription>>();

  /** Adds a subscriber; returns whether the topic is new here, and the function that removes it. */
  add(ref: TopicRef, handler: EventHandler<any>): { first: boolean; remove: () => boolean } {
    const name = typeof ref === "string" ? ref : ref.topic;
    const subscription: Subscription = { handler, schema: typeof ref === "string" ? undefined : ref.schema };
    let set = this.#byTopic.get(name);
    const first = set === undefined;
    if (!set) this.#byTopic.set(name, (set = new Set()));
    set.add(subscription);
    return {
      first,
      remove: () => {
        const current = this.#byTopic.get(name);
        if (!current?.delete(subscription)) return false;
        if (current.size > 0) return false;
        this.#byTopic.delete(name);
        return true;
      },
    };
  }

  topics(): string[] {
    return [...this.#byTopic.keys()];
  }

  has(topic: string): boolean {
    return this.#byTopic.has(topic);
  }

  /** Runs every subscriber of `topic`; reports payloads that fail a schema and handlers that throw. */
  deliver(topic: string, payload: unknown, from: string, report: (error: Error) => void): void {
    const set = this.#byTopic.get(topic);
    if (!set) return;
    const info: EventInfo = { topic, from };
    for (const { handler, schema } of set) {
      let value = payload;
      if (schema) {
        const checked = validate(schema, payload);
        if (checked instanceof Promise || !checked.ok) {
          report(new Error(`event on "${topic}" from ${from} does not match the topic's schema; dropped`));
          continue;
        }
        value = checked.value;
      }
      try {
        const result = handler(value, info);
        if (result instanceof Promise) result.catch(report);
      } catch (error) {
        report(error as Error);
      }
    }
  }
}
