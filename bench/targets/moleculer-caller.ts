import moleculer from "moleculer";
import type { Caller } from "./caller.ts";
import { brokerOptions, withLoopbackListen } from "./moleculer-options.ts";

/** A second moleculer broker that calls the server's actions over the TCP transporter. */
export async function openMoleculerCaller(address: string): Promise<Caller> {
  const broker = new moleculer.ServiceBroker(brokerOptions(`bench-client-${process.pid}`, [address]));
  await withLoopbackListen(() => broker.start());
  await broker.waitForServices("bench", 15_000);
  return {
    add: (a, b) => broker.call<number, { a: number; b: number }>("bench.add", { a, b }),
    echo: (text) => broker.call<string, { text: string }>("bench.echo", { text }),
    close: () => broker.stop(),
  };
}
