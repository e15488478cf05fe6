import { connect } from "@nats-io/transport-node";
import type { Caller } from "../targets/caller.ts";

const SUBJECTS = { add: "bench.natsjs.add", echo: "bench.natsjs.echo" } as const;

/** Plain nats.js `request()` with its default options (shared reply inbox, 1 s timeout), JSON payloads. */
export async function openNatsjsCaller(natsUrl: string): Promise<Caller> {
  const nc = await connect({ servers: [natsUrl] });
  return {
    add: async (a, b) => (await nc.request(SUBJECTS.add, JSON.stringify({ a, b }))).json<number>(),
    echo: async (text) => (await nc.request(SUBJECTS.echo, JSON.stringify(text))).json<string>(),
    close: () => nc.drain(),
  };
}
