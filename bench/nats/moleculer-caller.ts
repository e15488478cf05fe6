import moleculer from "moleculer";
import type { Caller } from "../targets/caller.ts";
import { natsBrokerOptions } from "./moleculer-options.ts";

/** A second moleculer broker that calls the server's actions over the NATS transporter. */
export async function openMoleculerNatsCaller(natsUrl: string): Promise<Caller> {
  const broker = new moleculer.ServiceBroker(natsBrokerOptions(`bench-client-${process.pid}`, natsUrl));
  await broker.start();
  await broker.waitForServices("bench", 15_000);
  return {
    add: (a, b) => broker.call<number, { a: number; b: number }>("bench.add", { a, b }),
    echo: (text) => broker.call<string, { text: string }>("bench.echo", { text }),
    close: () => broker.stop(),
  };
}
