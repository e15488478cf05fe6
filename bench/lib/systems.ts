import type { OpenCaller } from "../targets/caller.ts";

/** Every system the bench compares. */
export type SystemId = "raw" | "raw-unix" | "amoeba-tcp" | "amoeba-metrics" | "amoeba-unix" | "amoeba-inproc" | "grpc" | "moleculer";

/** How to run one system: its server process (if any) and its client. */
export interface SystemSpec {
  id: SystemId;
  label: string;
  /** The server's file under bench/ and its argument; absent when the client hosts the server itself. */
  server?: (tempDir: string) => { file: URL; argument: unknown };
  /** Loaded in the client process only, so the orchestrator never imports the peers' libraries. */
  openCaller: () => Promise<OpenCaller>;
}

const target = (name: string): URL => new URL(`../targets/${name}`, import.meta.url);

/** In table order: the baseline first, then Amoeba, then the peers. */
export const SYSTEMS: readonly SystemSpec[] = [
  {
    id: "raw",
    label: "raw node:net",
    server: () => ({ file: target("raw-server.ts"), argument: {} }),
    openCaller: async () => (await import("../targets/raw-caller.ts")).openRawCaller,
  },
  {
    id: "raw-unix",
    label: "raw unix",
    server: (tempDir) => ({ file: target("raw-server.ts"), argument: { listen: `unix://${tempDir}/raw.sock` } }),
    openCaller: async () => (await import("../targets/raw-caller.ts")).openRawCaller,
  },
  {
    id: "amoeba-tcp",
    label: "amoeba tcp",
    server: () => ({ file: target("amoeba-server.ts"), argument: { listen: "tcp://127.0.0.1:0" } }),
    openCaller: async () => (await import("../targets/amoeba-caller.ts")).openAmoebaCaller,
  },
  {
    id: "amoeba-metrics",
    label: "amoeba tcp, metrics on",
    server: () => ({ file: target("amoeba-server.ts"), argument: { listen: "tcp://127.0.0.1:0", metrics: true } }),
    openCaller: async () => (await import("../targets/amoeba-caller.ts")).openAmoebaMetricsCaller,
  },
  {
    id: "amoeba-unix",
    label: "amoeba unix",
    server: (tempDir) => ({ file: target("amoeba-server.ts"), argument: { listen: `unix://${tempDir}/amoeba.sock` } }),
    openCaller: async () => (await import("../targets/amoeba-caller.ts")).openAmoebaCaller,
  },
  {
    id: "amoeba-inproc",
    label: "amoeba in-process",
    openCaller: async () => (await import("../targets/amoeba-inproc-caller.ts")).openAmoebaInprocCaller,
  },
  {
    id: "grpc",
    label: "@grpc/grpc-js",
    server: () => ({ file: target("grpc-server.ts"), argument: {} }),
    openCaller: async () => (await import("../targets/grpc-caller.ts")).openGrpcCaller,
  },
  {
    id: "moleculer",
    label: "moleculer tcp",
    server: () => ({ file: target("moleculer-server.ts"), argument: {} }),
    openCaller: async () => (await import("../targets/moleculer-caller.ts")).openMoleculerCaller,
  },
];

/** The spec of a system id; throws on an unknown one. */
export function systemById(id: string): SystemSpec {
  const spec = SYSTEMS.find((system) => system.id === id);
  if (!spec) throw new Error(`unknown system "${id}"; known: ${SYSTEMS.map((system) => system.id).join(", ")}`);
  return spec;
}
