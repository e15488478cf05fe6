import { connect } from "../../src/index.ts";
import type { Caller } from "./caller.ts";
import { Bench } from "./amoeba-service.ts";

/** An Amoeba client as a user writes one: `connect(address)`, then a typed client. */
export async function openAmoebaCaller(address: string): Promise<Caller> {
  const peer = await connect(address);
  const bench = peer.client(Bench);
  return {
    add: (a, b) => bench.add({ a, b }),
    echo: (text) => bench.echo(text),
    close: () => peer.close(),
  };
}
