/** @module Transports: connections that carry frames between two peers. */
import { parseAddress } from "./address.ts";
import type { Connection, Listener } from "./connection.ts";
import { dialInproc, listenInproc } from "./inproc.ts";
import { dialSocket, listenSocket, type SocketDialOptions, type SocketListenOptions } from "./socket-transport.ts";

export * from "./address.ts";
export type * from "./connection.ts";
export { createInprocPair } from "./inproc.ts";
export type { TlsClientOptions, TlsServerOptions } from "./socket-transport.ts";

/** Listens on any supported address. */
export async function listen(
  address: string,
  options: SocketListenOptions,
  onConnection: (connection: Connection) => void,
): Promise<Listener> {
  const parsed = parseAddress(address);
  if (parsed.scheme === "inproc") return listenInproc(parsed.name, onConnection);
  return listenSocket(parsed, options, onConnection);
}

/** Dials any supported address. */
export async function dial(address: string, options: SocketDialOptions): Promise<Connection> {
  const parsed = parseAddress(address);
  if (parsed.scheme === "inproc") return dialInproc(parsed.name);
  return dialSocket(parsed, options);
}
