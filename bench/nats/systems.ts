import type { OpenCaller } from "../targets/caller.ts";

/** The systems compared on NATS, all against the same nats-server. */
export type NatsSystemId = "amoeba-nats" | "amoeba-nats-group" | "natsjs-request" | "moleculer-nats";

/** How to run one system on NATS: its server process and its client, both given the server's URL. */
export interface NatsSystemSpec {
  id: NatsSystemId;
  label: string;
  /** The server's file under bench/nats/. */
  server: URL;
  /** Amoeba's subject prefix for this system, so two Amoeba systems never share a queue group. */
  prefix?: string;
  /** Loaded in the client process only, so the orchestrator never imports the peers' libraries. */
  openCaller: () => Promise<(natsUrl: string, serverAddress: string) => ReturnType<OpenCaller>>;
}

const here = (name: string): URL => new URL(`./${name}`, import.meta.url);

/** In table order: Amoeba, then the peers. */
export const NATS_SYSTEMS: readonly NatsSystemSpec[] = [
  {
    id: "amoeba-nats",
    label: "amoeba on NATS",
    server: here("amoeba-server.ts"),
    openCaller: async () => (await import("./amoeba-caller.ts")).openAmoebaNatsCaller,
  },
  {
    id: "amoeba-nats-group",
    label: "amoeba, queue group",
    server: here("amoeba-server.ts"),
    prefix: "amoeba-group",
    openCaller: async () => {
      const { openAmoebaNatsCaller } = await import("./amoeba-caller.ts");
      return (natsUrl, serverAddress) => openAmoebaNatsCaller(natsUrl, serverAddress, "amoeba-group", "random");
    },
  },
  {
    id: "natsjs-request",
    label: "nats.js request()",
    server: here("natsjs-server.ts"),
    openCaller: async () => (await import("./natsjs-caller.ts")).openNatsjsCaller,
  },
  {
    id: "moleculer-nats",
    label: "moleculer NATS",
    server: here("moleculer-server.ts"),
    openCaller: async () => (await import("./moleculer-caller.ts")).openMoleculerNatsCaller,
  },
];

/** The spec of a system id; throws on an unknown one. */
export function natsSystemById(id: string): NatsSystemSpec {
  const spec = NATS_SYSTEMS.find((system) => system.id === id);
  if (!spec) throw new Error(`unknown NATS system "${id}"; known: ${NATS_SYSTEMS.map((system) => system.id).join(", ")}`);
  return spec;
}
