import moleculer from "moleculer";
import { childArgument } from "../lib/child-side.ts";
import { runServer } from "../lib/serve-child.ts";
import { moleculerBenchService } from "../targets/moleculer-service.ts";
import { natsBrokerOptions } from "./moleculer-options.ts";

/** A moleculer broker on NATS serving the bench service. */
runServer(async () => {
  const { natsUrl } = childArgument<{ natsUrl: string }>();
  const broker = new moleculer.ServiceBroker(natsBrokerOptions("bench-server", natsUrl));
  broker.createService(moleculerBenchService);
  await broker.start();
  return { address: natsUrl, close: () => broker.stop() };
});
