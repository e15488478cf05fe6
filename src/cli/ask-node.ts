import { connect, type Node, type Peer } from "../index.ts";
import { clusterKeyFromEnv } from "./lookup-args.ts";

/** How long asking one node may take (ms). */
export const ASK_TIMEOUT_MS = 3_000;

const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Connects to one node for a moment, as a command that serves nothing, runs
 * `ask` on the connection and closes it whatever happened. A `nats://`
 * address is dialed through `via`, the command's own node on NATS; others
 * prove the cluster key of the environment, if any.
 */
export async function askNode<T>(address: string, command: string, ask: (peer: Peer) => Promise<T>, via?: Node): Promise<T> {
  if (via && address.startsWith("nats://")) {
    const peer = await via.connect(address, { connectTimeout: ASK_TIMEOUT_MS });
    try {
      return await ask(peer);
    } finally {
      await peer.close();
    }
  }
  const clusterKey = clusterKeyFromEnv();
  const peer = await connect(address, { name: `amoeba-${command}-${process.pid}`, drainTimeout: 0, connectTimeout: ASK_TIMEOUT_MS, logger: SILENT, ...(clusterKey ? { clusterKey } : {}) });
  try {
    return await ask(peer);
  } finally {
    await peer.close();
  }
}
