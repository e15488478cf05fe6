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
import { awaitServices, describe, SHOP_LOOKUP, WATCHED } from "./look-up.ts";

/** What a service process sends its parent once it serves: its node's address, and a URL if it serves HTTP. */
export interface ReadyMessage {
  ready: string;
  url?: string;
}

export interface ServiceOptions {
  /** The contracts this service calls: it serves only once the look-up shows each of them. */
  needs?: readonly Contract[];
  /** Labels of its node, e.g. the edge's mark. */
  labels?: Record<string, string>;
}

/** What a service process is told besides its address and cluster. */
export interface ServiceArgs {
  /** Where it may keep state (`--state`), when it keeps any. */
  state?: string;
}

/** Serves on the node; a process that also serves HTTP returns its URL. */
type Setup = (node: Node, args: ServiceArgs) => void | { url: string } | Promise<void | { url: string }>;

/**
 * Runs `close`, then exits, once the process is asked to stop: on SIGTERM, on
 * Ctrl-C when it runs alone, and when its parent is gone. Returns the stop.
 */
export function stopWhenAsked(close: () => Promise<unknown>): () => Promise<void> {
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await close();
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
  return stop;
}

export async function runService(name: string, setup: Setup): Promise<void>;
export async function runService(name: string, options: ServiceOptions, setup: Setup): Promise<void>;
export async function runService(name: string, ...args: [Setup] | [ServiceOptions, Setup]): Promise<void> {
  const [{ needs = [], labels = {} }, setup] = args.length === 1 ? [{}, args[0]] : args;
  const { values } = parseArgs({
    options: {
      listen: { type: "string", default: "tcp://127.0.0.1:0" },
      cluster: { type: "string", default: "shop" },
      // Two instances of one service tell themselves apart by name (pricing-1, pricing-2).
      name: { type: "string", default: name },
      state: { type: "string" },
    },
  });

  let node: Node | undefined;
  // close() refuses new calls, leaves the cluster, lets calls in flight finish, then hangs up.
  const stop = stopWhenAsked(async () => node?.close({ timeout: 2_000 }));

  // A cluster and no seeds: the node joins through the local rendezvous.
  node = await startNode({ name: values.name, cluster: values.cluster, listen: values.listen, labels, lookup: SHOP_LOOKUP, ...WATCHED });
  // Wait before serving, so that no call arrives before the services it needs can be found.
  const found = await awaitServices(node, needs);
  const served = await setup(node, { ...(values.state === undefined ? {} : { state: values.state }) });

  const address = node.addresses[0]!;
  if (process.send) {
    if (!process.connected) return stop();
    process.send({ ready: address, ...(served ? { url: served.url } : {}) } satisfies ReadyMessage);
  } else {
    const uses = found && found.length > 0 ? `; found ${describe(found)}` : "";
    console.log(`${values.name} (pid ${process.pid}) ready on ${address} in cluster ${node.cluster}${uses}`);
  }
}
