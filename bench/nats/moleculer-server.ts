import moleculer from "moleculer";
import { childArgument } from "../lib/child-side.ts";
import { runServer } from "../lib/serve-child.ts";
import { natsBrokerOptions } from "./moleculer-options.ts";

/** A moleculer broker on NATS serving the bench service, with validated params as a user would declare them. */
runServer(async () => {
  const { natsUrl } = childArgument<{ natsUrl: string }>();
  const broker = new moleculer.ServiceBroker(natsBrokerOptions("bench-server", natsUrl));
  broker.createService({
    name: "bench",
    actions: {
      add: {
        params: { a: "number", b: "number" },
        handler: (ctx: moleculer.Context<{ a: number; b: number }>) => ctx.params.a + ctx.params.b,
      },
      echo: {
        params: { text: "string" },
        handler: (ctx: moleculer.Context<{ text: string }>) => ctx.params.text,
      },
    },
  });
  await broker.start();
  return { address: natsUrl, close: () => broker.stop() };
});
