// Conformance over the NATS engine, against a nats-server this file starts on
// a free port: once with calls placed by look-up over NATS (node.client), once
// with a peer dialed by its nats:// address (connect).
import { after } from "node:test";
import { connect, startNode, type Limits, type Logger, type Node, type Peer } from "../../src/index.ts";
import { nats } from "../../src/nats/index.ts";
import { natsMissing, startNatsServer, type NatsServer } from "../support/nats-server.ts";
import type { FixtureOptions, MakeFixture } from "./fixture.ts";
import { recordingLogger, waitFor } from "./helpers.ts";
import { runConformance } from "./suite.ts";

const DRAIN_MS = 2_000;
let server: Promise<NatsServer> | undefined;
let counter = 0;

/** One nats-server for the whole file, started by the first fixture. */
function natsServer(): Promise<NatsServer> {
  server ??= startNatsServer();
  return server;
}

after(async () => {
  if (server) await (await server).stop();
});

function common(options: FixtureOptions): { dev?: boolean; limits?: Partial<Limits>; logger: Logger } {
  return {
    logger: recordingLogger(),
    ...(options.dev !== undefined && { dev: options.dev }),
    ...(options.limits !== undefined && { limits: options.limits }),
  };
}

/** Two nodes on NATS in a cluster of their own; the caller finds the server by look-up. */
const routedFixture: MakeFixture = async (options) => {
  const { url } = await natsServer();
  const cluster = `conformance-${process.pid}-${++counter}`;
  const engine = () => nats({ servers: [url], lookup: { heartbeat: 500 } });
  const serverNode = await startNode({ name: "server", cluster, engine: engine(), ...common(options) });
  let caller: Node | undefined;
  try {
    caller = await startNode({ name: "caller", cluster, engine: engine(), ...common(options) });
  } catch (error) {
    await serverNode.close({ timeout: 0 });
    throw error;
  }
  const callerNode = caller;
  return {
    routed: true,
    events: { caller: callerNode, server: serverNode },
    client: (contract, clientOptions) => callerNode.client(contract, clientOptions),
    serve: async (contract, handlers) => {
      serverNode.serve(contract, handlers);
      await waitFor(
        () => callerNode.lookup(contract).some((instance) => instance.node.id === serverNode.id && instance.version === contract.version),
        5_000,
        `the caller finds ${contract.name} on NATS`,
      );
    },
    close: async () => {
      await callerNode.close({ timeout: DRAIN_MS });
      await serverNode.close({ timeout: DRAIN_MS });
    },
  };
};

/** A server node on NATS and a client made by `connect("nats://<node id>")`. */
const dialedFixture: MakeFixture = async (options) => {
  const { url } = await natsServer();
  const serverNode = await startNode({ name: "server", engine: nats({ servers: [url] }), lookup: false, ...common(options) });
  let peer: Peer;
  try {
    peer = await connect(serverNode.addresses[0]!, { name: "caller", engine: nats({ servers: [url] }), ...common(options) });
  } catch (error) {
    await serverNode.close({ timeout: 0 });
    throw error;
  }
  return {
    routed: false,
    events: { caller: peer, server: serverNode },
    client: (contract, clientOptions) => peer.client(contract, clientOptions),
    serve: async (contract, handlers) => {
      serverNode.serve(contract, handlers);
    },
    close: async () => {
      await peer.close();
      await serverNode.close({ timeout: DRAIN_MS });
    },
  };
};

runConformance("nats (by look-up)", routedFixture, { missing: natsMissing });
runConformance("nats (dialed nats:// address)", dialedFixture, { missing: natsMissing });
