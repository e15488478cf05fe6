import type { BalanceStrategy } from "../../src/balance/policy.ts";
import { startNode } from "../../src/index.ts";
import { nats } from "../../src/nats/index.ts";
import type { Caller } from "../targets/caller.ts";
import { Bench } from "../targets/amoeba-service.ts";

const CLUSTER = "bench-nats";

/**
 * An Amoeba node on NATS as a user writes one: it finds the server by
 * look-up over NATS and calls through `node.client()` with `strategy`
 * (p2c by default: straight to the instance; random: through the queue group).
 * `prefix` keeps each bench system's subjects, and so its queue groups, apart.
 */
export async function openAmoebaNatsCaller(natsUrl: string, serverAddress: string, prefix = "amoeba", strategy: BalanceStrategy = "p2c"): Promise<Caller> {
  const node = await startNode({ name: `bench-client-${process.pid}`, cluster: CLUSTER, engine: nats({ servers: [natsUrl], prefix }) });
  const until = Date.now() + 15_000;
  while (!node.lookup(Bench).some((instance) => instance.addresses.includes(serverAddress))) {
    if (Date.now() > until) throw new Error(`look-up over NATS did not find the bench server ${serverAddress} within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const bench = node.client(Bench, { balance: { strategy } });
  return {
    add: (a, b) => bench.add({ a, b }),
    echo: (text) => bench.echo(text),
    close: () => node.close({ timeout: 500 }),
  };
}
