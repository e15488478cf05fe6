/** @module Transports: connections that carry frames between two peers. */
import { parseAddress } from "./address.ts";
import type { Connection, Listener } from "./connection.ts";
import { dialInproc, listenInproc } from "./inproc.ts";
import { dialSocket, listenSocket, type SocketDialOptions, type SocketListenOptions } from "./socket-transport.ts";

export * from "./address.ts";
export * from "./exposure.ts";
export type * from "./connection.ts";
export { createInprocPair } from "./inproc.ts";
export type { TlsClientOptions, TlsServerOptions } from "./socket-transport.ts";

/**
 * A transport a node gets from an engine (see `NodeOptions.engine`): it
 * listens on and dials the addresses of its own scheme (`nats://…`). The
 * built-in schemes (tcp, unix, inproc) need none.
 */
export interface Transport {
  listen(address: string, onConnection: (connection: Connection) => void): Promise<Listener>;
  dial(address: string, options: { connectTimeout?: number }): Promise<Connection>;
}

/** Transports by address scheme, consulted before the built-in ones. */
export type TransportTable = ReadonlyMap<string, Transport>;

/** The scheme of `scheme://…`, or undefined. */
function schemeOf(address: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//.exec(address)?.[1];
}

/** Listens on any supported address; `transports` adds schemes of an engine. */
export async function listen(
  address: string,
  options: SocketListenOptions,
  onConnection: (connection: Connection) => void,
  transports?: TransportTable,
): Promise<Listener> {
  const extra = transports?.get(schemeOf(address) ?? "");
  if (extra) return extra.listen(address, onConnection);
  const parsed = parseAddress(address);
  if (parsed.scheme === "inproc") return listenInproc(parsed.name, onConnection);
  return listenSocket(parsed, options, onConnection);
}

/** Dials any supported address; `transports` adds schemes of an engine. */
export async function dial(address: string, options: SocketDialOptions, transports?: TransportTable): Promise<Connection> {
  const extra = transports?.get(schemeOf(address) ?? "");
  if (extra) return extra.dial(address, options.connectTimeout === undefined ? {} : { connectTimeout: options.connectTimeout });
  const parsed = parseAddress(address);
  if (parsed.scheme === "inproc") return dialInproc(parsed.name);
  return dialSocket(parsed, options);
}
