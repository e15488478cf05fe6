/**
 * The typed client of an entity type: `entities(node, Cart).for("user-42")`
 * is a client of `Cart` whose calls address the entity `user-42`. They go to
 * the key's owner through the node's balancer (the `owner` strategy), retried
 * and routed as any call; the servers pass a call on to the owner when the
 * caller's view is behind.
 */
import type { CallOptions } from "../rpc/call-options.ts";
import type { Client, ClientOptions } from "../rpc/context.ts";
import type { Contract } from "../rpc/contract.ts";
import { ENTITY_META, MAX_KEY_LENGTH } from "../rpc/keyed-meta.ts";

/** Keys whose clients an entity client keeps; past it, it starts again from none. */
const RECENT_KEYS = 4096;

/** What makes clients: a node, or a handler's context (whose calls inherit its deadline and trace). */
export interface ClientMaker {
  client<C extends Contract>(contract: C, options?: ClientOptions): Client<C>;
}

/** The client of an entity type. */
export interface EntityClient<C extends Contract> {
  /** The client of the entity `key` (1 to 256 characters). */
  for(key: string): Client<C>;
}

/**
 * A client of the entity type `contract`, made with `maker`'s clients and
 * `options` (as `node.client`'s; the balancing strategy is always `owner`).
 *
 * @throws TypeError at `for(key)` when the key is not a string of 1 to 256 characters.
 */
export function entities<C extends Contract>(maker: ClientMaker, contract: C, options: ClientOptions = {}): EntityClient<C> {
  const base = maker.client(contract, { ...options, balance: { ...options.balance, strategy: "owner" } }) as Record<string, (input: unknown, options?: CallOptions) => unknown>;
  const methods = Object.keys(contract.methods);
  const make = (key: string): Client<C> => {
    const keyMeta = { [ENTITY_META]: key };
    const plainCall = { meta: keyMeta };
    const client = Object.create(null) as Record<string, unknown>;
    for (const method of methods) {
      const call = base[method]!;
      client[method] = (input: unknown, callOptions?: CallOptions) =>
        call(input, callOptions === undefined ? plainCall : { ...callOptions, meta: callOptions.meta ? { ...callOptions.meta, ...keyMeta } : keyMeta });
    }
    return Object.freeze(client) as Client<C>;
  };
  // `for(key)` on every call is the usual way to use it: the clients of recent keys are kept.
  let recent = new Map<string, Client<C>>();
  return Object.freeze({
    for(key: string): Client<C> {
      const known = recent.get(key);
      if (known !== undefined) return known;
      if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH) {
        throw new TypeError(`${contract.name}: an entity key must be a string of 1 to ${MAX_KEY_LENGTH} characters`);
      }
      if (recent.size >= RECENT_KEYS) recent = new Map();
      const client = make(key);
      recent.set(key, client);
      return client;
    },
  });
}
