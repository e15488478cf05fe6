/**
 * Cluster singletons: an entity type with one key. Among the nodes that serve
 * it, one owns the key at a time and runs its calls, one at a time, on state
 * kept in the store; when that node leaves or dies, another takes over from
 * the saved state. The same rules as any entity type, with the key fixed.
 */
import type { Node } from "../node/node.ts";
import type { Client, ClientOptions } from "../rpc/context.ts";
import type { Contract } from "../rpc/contract.ts";
import { entities, type ClientMaker } from "./entity-client.ts";
import type { EntityTypeOptions, ServedEntityType } from "./entity-types.ts";
import { serveEntityType } from "./serve-entity.ts";

/** The one key of a singleton: its contract's name. */
function singletonKey(contract: Contract): string {
  return contract.name;
}

/**
 * Serves `contract` as a cluster singleton: an entity type whose one entity
 * (keyed by the contract's name) lives on one of the nodes serving it at a
 * time; calls for any other key are refused.
 */
export function serveSingleton<C extends Contract, S>(node: Node, contract: C, options: EntityTypeOptions<C, S>): Promise<ServedEntityType> {
  return serveEntityType(node, contract, options, singletonKey(contract));
}

/** The client of a singleton served with {@link serveSingleton}: its calls reach the one owner. */
export function singleton<C extends Contract>(maker: ClientMaker, contract: C, options: ClientOptions = {}): Client<C> {
  return entities(maker, contract, options).for(singletonKey(contract));
}
