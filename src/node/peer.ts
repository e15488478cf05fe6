import type { CallerInfo, Client, ClientOptions } from "../rpc/context.ts";
import type { Contract } from "../rpc/contract.ts";
import type { EventHandler, PayloadOf, TopicRef } from "../rpc/topics.ts";

/**
 * A connection from a node to one other node, found by address: the plain
 * client-server arrangement. If the connection drops, the next call dials
 * again.
 */
export interface Peer {
  /** The address dialed. */
  readonly address: string;
  /** The node at the other end (from the latest handshake). */
  readonly remote: CallerInfo;
  /** The services the other end serves, as `[name, version]` (Amoeba's own `amoeba.*` services left out). */
  readonly services: ReadonlyArray<readonly [string, string]>;
  /** A typed client whose calls all go to this peer. */
  client<C extends Contract>(contract: C, options?: ClientOptions): Client<C>;
  /** Publishes an event to every connected node that subscribed to the topic. */
  publish<T extends TopicRef>(topic: T, payload: PayloadOf<T>): void;
  /** Receives events on a topic from every connected node; returns the function that stops it. */
  subscribe<T extends TopicRef>(topic: T, handler: EventHandler<PayloadOf<T>>): () => void;
  /** Closes the connection (and, for `connect()`, the client node behind it). */
  close(): Promise<void>;
}
