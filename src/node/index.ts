/** @module The node: a facade over its dispatcher, call router, connections and membership view. */
export { Node, startNode, connect } from "./node.ts";
export type { ConnectOptions, NodeOptions, ServeOptions } from "./options.ts";
export type { Peer } from "./peer.ts";
