import { connect, type Peer } from "../../src/index.ts";
import type { Caller } from "./caller.ts";
import { Bench } from "./amoeba-service.ts";

/** An Amoeba client as a user writes one: `connect(address)`, then a typed client. */
export async function openAmoebaCaller(address: string): Promise<Caller> {
  return open(await connect(address));
}

/** The same with metrics on in the caller's node too. */
export async function openAmoebaMetricsCaller(address: string): Promise<Caller> {
  return open(await connect(address, { metrics: true }));
}

function open(peer: Peer): Caller {
  const bench = peer.client(Bench);
  return {
    add: (a, b) => bench.add({ a, b }),
    echo: (text) => bench.echo(text),
    close: () => peer.close(),
  };
}
