import moleculer from "moleculer";
import { runServer } from "../lib/serve-child.ts";
import { brokerOptions, withLoopbackListen } from "./moleculer-options.ts";

const NODE_ID = "bench-server";

/** A moleculer broker serving the bench service, with validated params as a user would declare them. */
runServer(async () => {
  const broker = new moleculer.ServiceBroker(brokerOptions(NODE_ID, []));
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
  await withLoopbackListen(() => broker.start());
  // The transporter picked a free port; clients need it in their static URLs.
  const port = (broker.transit?.tx as unknown as { opts: { port: number } }).opts.port;
  return { address: `127.0.0.1:${port}/${NODE_ID}`, close: () => broker.stop() };
});
