/**
 * The life of one service process, shared by catalog, pricing and orders:
 * start a node in the shop's cluster, wait until the look-up shows the
 * services it calls, serve, tell the parent where it listens, and stop
 * gracefully when asked — or when the parent is gone.
 *
 * Each service file also runs on its own; processes started with the same
 * `--cluster` (default "shop") on this machine find each other, e.g.
 *   node --import tsx examples/shop/pricing.ts --listen tcp://127.0.0.1:7401
 */
import { parseArgs } from "node:util";
import { startNode, type Contract, type Node } from "../../src/index.ts";
import { awaitServices, describe, SHOP_LOOKUP } from "./look-up.ts";

/** What a service process sends its parent once it serves. */
export interface ReadyMessage {
  ready: string;
}

export interface ServiceOptions {
  /** The contracts this service calls: it serves only once the look-up shows each of them. */
  needs?: readonly Contract[];
}

type Setup = (node: Node) => void | Promise<void>;

export async function runService(name: string, setup: Setup): Promise<void>;
export async function runService(name: string, options: ServiceOptions, setup: Setup): Promise<void>;
export async function runService(name: string, ...args: [Setup] | [ServiceOptions, Setup]): Promise<void> {
  const [{ needs = [] }, setup] = args.length === 1 ? [{}, args[0]] : args;
  const { values } = parseArgs({
    options: {
      listen: { type: "string", default: "tcp://127.0.0.1:0" },
      cluster: { type: "string", default: "shop" },
    },
  });

  let node: Node | undefined;
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // close() refuses new calls, leaves the cluster, lets calls in flight finish, then hangs up.
    await node?.close({ timeout: 2_000 });
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  if (process.send) {
    // Ctrl-C reaches the whole process group; the parent stops us in order instead.
    process.on("SIGINT", () => {});
    // The IPC channel closes when the parent exits, even by kill -9: never outlive it.
    process.on("disconnect", stop);
  } else {
    process.on("SIGINT", stop);
  }

  // A cluster and no seeds: the node joins through the local rendezvous.
  node = await startNode({ name, cluster: values.cluster, listen: values.listen, lookup: SHOP_LOOKUP });
  // Wait before serving, so that no call arrives before the services it needs can be found.
  const found = await awaitServices(node, needs);
  await setup(node);

  const address = node.addresses[0]!;
  if (process.send) {
    if (!process.connected) return stop();
    process.send({ ready: address } satisfies ReadyMessage);
  } else {
    const uses = found && found.length > 0 ? `; found ${describe(found)}` : "";
    console.log(`${name} (pid ${process.pid}) ready on ${address} in cluster ${node.cluster}${uses}`);
  }
}
