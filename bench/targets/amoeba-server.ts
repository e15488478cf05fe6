import { startNode } from "../../src/index.ts";
import { childArgument } from "../lib/child-side.ts";
import { runServer } from "../lib/serve-child.ts";
import { Bench, benchHandlers } from "./amoeba-service.ts";

/** An Amoeba node serving the bench contract on the address it is given (TCP or Unix), with default settings (or metrics on). */
runServer(async () => {
  const { listen, metrics } = childArgument<{ listen: string; metrics?: boolean }>();
  const node = await startNode({ name: "bench-server", listen, metrics: metrics === true });
  node.serve(Bench, benchHandlers);
  return { address: node.addresses[0]!, close: () => node.close({ timeout: 500 }) };
});
