import moleculer from "moleculer";
import { runServer } from "../lib/serve-child.ts";
import { moleculerBenchService } from "./moleculer-service.ts";
import { brokerOptions, withLoopbackListen } from "./moleculer-options.ts";

const NODE_ID = "bench-server";

/** A moleculer broker serving the bench service. */
runServer(async () => {
  const broker = new moleculer.ServiceBroker(brokerOptions(NODE_ID, []));
  broker.createService(moleculerBenchService);
  await withLoopbackListen(() => broker.start());
  // The transporter picked a free port; clients need it in their static URLs.
  const port = (broker.transit?.tx as unknown as { opts: { port: number } }).opts.port;
  return { address: `127.0.0.1:${port}/${NODE_ID}`, close: () => broker.stop() };
});
