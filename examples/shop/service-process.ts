/**
 * The life of one service process, shared by catalog, pricing and orders:
 * start a node, connect to the nodes it calls, serve, tell the parent where
 * it listens, and stop gracefully when asked — or when the parent is gone.
 *
 * Each service file also runs on its own, e.g.
 *   node --import tsx examples/shop/pricing.ts --listen tcp://127.0.0.1:7401
 */
import { parseArgs } from "node:util";
import { startNode, type Node } from "../../src/index.ts";

/** What a service process sends its parent once it serves. */
export interface ReadyMessage {
  ready: string;
}

export async function runService(name: string, setup: (node: Node) => void | Promise<void>): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: "string", default: "tcp://127.0.0.1:0" },
      connect: { type: "string", multiple: true, default: [] },
    },
  });

  let node: Node | undefined;
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // close() refuses new calls, lets those in flight finish, then hangs up.
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

  node = await startNode({ name, listen: values.listen });
  // Connect before serving, so that no call arrives before the services it needs are reachable.
  for (const address of values.connect) await node.connect(address);
  await setup(node);

  const address = node.addresses[0]!;
  if (process.send) {
    if (!process.connected) return stop();
    process.send({ ready: address } satisfies ReadyMessage);
  } else {
    console.log(`${name} (pid ${process.pid}) ready on ${address}`);
  }
}
