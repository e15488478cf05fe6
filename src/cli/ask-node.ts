import { connect, type Node, type Peer, type TlsClientOptions } from "../index.ts";
import { clusterKeyFromEnv } from "./lookup-args.ts";
import { tokenOption } from "./token-args.ts";

/** How long asking one node may take (ms). */
export const ASK_TIMEOUT_MS = 3_000;

const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

/** How a command reaches the nodes it asks (a look-up's ToolView is one). */
export interface AskRoute {
  /** The command's own node, through which `nats://` addresses are dialed. */
  readonly node?: Node | undefined;
  /** TLS towards TCP addresses (`--tls-ca`, `--tls-cert`, `--tls-key`); undefined for none. */
  readonly tls?: TlsClientOptions | undefined;
  /** The cluster key connections prove (`--cluster-key`); undefined: the one of the environment, if any. */
  readonly clusterKey?: string | undefined;
}

/**
 * Connects to one node for a moment, as a command that serves nothing, runs
 * `ask` on the connection and closes it whatever happened. A `nats://`
 * address is dialed through `route.node`, the command's own node on NATS;
 * a TCP address with `route.tls`. Connections prove `route.clusterKey`,
 * or the cluster key of the environment, if any.
 */
export async function askNode<T>(address: string, command: string, ask: (peer: Peer) => Promise<T>, route: AskRoute = {}): Promise<T> {
  const via = route.node;
  if (via && address.startsWith("nats://")) {
    const peer = await via.connect(address, { connectTimeout: ASK_TIMEOUT_MS });
    try {
      return await ask(peer);
    } finally {
      await peer.close();
    }
  }
  const tls = route.tls !== undefined && address.startsWith("tcp://") ? { tls: route.tls } : {};
  const clusterKey = route.clusterKey ?? clusterKeyFromEnv();
  const peer = await connect(address, { name: `amoeba-${command}-${process.pid}`, drainTimeout: 0, connectTimeout: ASK_TIMEOUT_MS, logger: SILENT, ...tls, ...(clusterKey ? { clusterKey } : {}), ...tokenOption(command) });
  try {
    return await ask(peer);
  } finally {
    await peer.close();
  }
}
