/**
 * Events on NATS subjects. A node with subscribers of a topic subscribes to
 * `<prefix>.event.<cluster>.<topic>`; publishing is one message to that
 * subject, which the NATS servers hand to every subscribing node of the
 * cluster — however many there are, the publisher sends it once. The message
 * is `[publisher id, publisher name, payload]` in Amoeba's encoding; the
 * publisher's own echo is dropped (its local subscribers have it already).
 *
 * Delivery is NATS core's: at most once, in order from one publisher, lost
 * for a node that is not connected to a server at that moment. Who may publish
 * or subscribe on these subjects is the NATS servers' permissions' business;
 * the publisher a message names is claimed, not proved.
 *
 * @module
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { EngineEvents } from "../engine.ts";
import type { Logger } from "../logger.ts";
import type { CallerInfo } from "../rpc/context.ts";
import { decodeBody, encodeBody } from "../wire/index.ts";

/** Topic names that are NATS subject tokens as they are: letters, digits, `_` and `-`, in dot-separated words. */
const SUBJECT_TOPIC = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
/** The longest topic sent by subject; longer ones go over connections. */
const MAX_TOPIC = 200;
/** The longest publisher id or name a message may carry. */
const MAX_NAME = 128;

/** What the subject events need of the engine and its node. */
export interface SubjectEventsOptions {
  nc: NatsConnection;
  prefix: string;
  cluster: string;
  nodeId: string;
  nodeName: string;
  maxDepth: number;
  /** The largest message the server takes now, in bytes. */
  maxPayload: () => number;
  logger: Logger;
  deliver: (topic: string, payload: unknown, from: CallerInfo) => void;
}

/** The subject of `topic`'s events in `cluster`; undefined when the topic is no subject. */
export function eventSubject(prefix: string, cluster: string, topic: string): string | undefined {
  if (topic.length > MAX_TOPIC || !SUBJECT_TOPIC.test(topic)) return undefined;
  // One token per cluster, whatever its dots: `~` is not in cluster names, so no two clusters share one.
  return `${prefix}.event.${cluster.replaceAll(".", "~")}.${topic}`;
}

/** A node's events over NATS subjects. */
export class SubjectEvents implements EngineEvents {
  readonly #options: SubjectEventsOptions;
  readonly #subscriptions = new Map<string, Subscription>();
  /** Messages on event subjects that could not be read, since the start. */
  rejected = 0;

  constructor(options: SubjectEventsOptions) {
    this.#options = options;
  }

  publish(topic: string, payload: unknown): boolean {
    const { nc, prefix, cluster, nodeId, nodeName, logger } = this.#options;
    const subject = eventSubject(prefix, cluster, topic);
    if (subject === undefined) return false;
    const message = encodeBody([nodeId, nodeName, payload]);
    if (message.length > this.#options.maxPayload()) return false;
    try {
      nc.publish(subject, message);
    } catch (error) {
      // At most once: an event the client cannot take now is dropped, as on a lost connection.
      logger.debug({ err: error, topic }, "event not delivered");
    }
    return true;
  }

  subscribe(topic: string): boolean {
    const { nc, prefix, cluster } = this.#options;
    const subject = eventSubject(prefix, cluster, topic);
    if (subject === undefined) return false;
    if (this.#subscriptions.has(topic)) return true;
    const subscription = nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) return;
        this.#receive(topic, msg.data);
      },
    });
    this.#subscriptions.set(topic, subscription);
    return true;
  }

  unsubscribe(topic: string): void {
    this.#subscriptions.get(topic)?.unsubscribe();
    this.#subscriptions.delete(topic);
  }

  /** Stops every subscription. */
  close(): void {
    for (const subscription of this.#subscriptions.values()) subscription.unsubscribe();
    this.#subscriptions.clear();
  }

  #receive(topic: string, data: Uint8Array): void {
    const { nodeId, maxDepth, logger, deliver } = this.#options;
    let message: unknown;
    try {
      message = decodeBody(data, maxDepth);
    } catch (error) {
      return this.#reject(topic, (error as Error).message);
    }
    if (!Array.isArray(message) || message.length !== 3) return this.#reject(topic, "not [publisher id, name, payload]");
    const [id, name, payload] = message as [unknown, unknown, unknown];
    if (typeof id !== "string" || typeof name !== "string" || id.length > MAX_NAME || name.length > MAX_NAME) return this.#reject(topic, "a malformed publisher");
    if (id === nodeId) return;
    try {
      deliver(topic, payload, { id, name, address: `nats://${id}` });
    } catch (error) {
      // Whatever a subscriber does, a message must never take the node down.
      logger.warn({ err: error, topic }, "event handler failed");
    }
  }

  #reject(topic: string, why: string): void {
    this.rejected++;
    this.#options.logger.debug({ topic, why }, "event message on NATS dropped");
  }
}
