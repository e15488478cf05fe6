import { startNode } from "../../src/index.ts";
import { nats } from "../../src/nats/index.ts";
import { childArgument } from "../lib/child-side.ts";
import { runServer } from "../lib/serve-child.ts";
import { Bench, benchHandlers } from "../targets/amoeba-service.ts";

/** The bench cluster's name: callers find the server by look-up within it (amoeba-caller.ts). */
const BENCH_CLUSTER = "bench-nats";

/** An Amoeba node on NATS serving the bench contract, default settings otherwise (its own subject prefix, when given). */
runServer(async () => {
  const { natsUrl, prefix } = childArgument<{ natsUrl: string; prefix?: string }>();
  const node = await startNode({ name: "bench-server", cluster: BENCH_CLUSTER, engine: nats({ servers: [natsUrl], ...(prefix ? { prefix } : {}) }) });
  node.serve(Bench, benchHandlers);
  return { address: node.addresses[0]!, close: () => node.close({ timeout: 500 }) };
});
