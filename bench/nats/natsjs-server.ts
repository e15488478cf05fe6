import { connect } from "@nats-io/transport-node";
import { childArgument } from "../lib/child-side.ts";
import { runServer } from "../lib/serve-child.ts";

/** The subjects of the plain nats.js responder, queue-subscribed as a NATS user scales one out. */
export const NATSJS_SUBJECTS = { add: "bench.natsjs.add", echo: "bench.natsjs.echo" } as const;
const QUEUE = "bench";

/** A plain nats.js (`@nats-io/transport-node`) responder: JSON in, JSON out, default options. */
runServer(async () => {
  const { natsUrl } = childArgument<{ natsUrl: string }>();
  const nc = await connect({ servers: [natsUrl] });
  nc.subscribe(NATSJS_SUBJECTS.add, {
    queue: QUEUE,
    callback: (error, msg) => {
      if (error) return;
      const { a, b } = msg.json<{ a: number; b: number }>();
      msg.respond(JSON.stringify(a + b));
    },
  });
  nc.subscribe(NATSJS_SUBJECTS.echo, {
    queue: QUEUE,
    callback: (error, msg) => {
      if (error) return;
      msg.respond(JSON.stringify(msg.json<string>()));
    },
  });
  await nc.flush();
  return { address: natsUrl, close: () => nc.drain() };
});
