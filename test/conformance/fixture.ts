/**
 * What the conformance suite needs from a transport, and the fixtures of the
 * transports built into a node. A new transport joins the suite by giving a
 * `MakeFixture` to `runConformance` in a test file of its own.
 */
import {
  connect,
  startNode,
  type Client,
  type ClientOptions,
  type Contract,
  type Handlers,
  type Limits,
  type Logger,
  type Node,
  type Peer,
  type TlsClientOptions,
  type TlsServerOptions,
} from "../../src/index.ts";
import { recordingLogger, waitFor } from "./helpers.ts";

/** Settings applied to both ends of a fixture. */
export interface FixtureOptions {
  /** Dev mode: error stacks travel to callers. */
  dev?: boolean;
  /** Limits of both nodes (e.g. a small `streamWindow`). */
  limits?: Partial<Limits>;
}

/** One side's events: publish and subscribe as a node (or a peer) does. */
export interface EventSide {
  publish(topic: string, payload: unknown): void;
  subscribe(topic: string, handler: (payload: unknown, info: { from: string }) => void): () => void;
}

/** A client side and a server side joined by one transport. The serving node is named "server". */
export interface Fixture {
  /** Events on each side: what one side publishes reaches the other's subscribers. */
  readonly events: { readonly caller: EventSide; readonly server: EventSide };
  /** A typed client on the calling side. */
  client<C extends Contract>(contract: C, options?: ClientOptions): Client<C>;
  /** Serves `contract` on the serving side; resolves once the client side can reach it. */
  serve<C extends Contract>(contract: C, handlers: Handlers<C>): Promise<void>;
  /**
   * True when the client places calls by the node's look-up (`node.client`)
   * rather than sending them to one dialed peer: a service no known node
   * serves is then UNAVAILABLE (nowhere to send it), not NOT_FOUND.
   */
  readonly routed: boolean;
  /** Closes both sides. */
  close(): Promise<void>;
}

export type MakeFixture = (options: FixtureOptions) => Promise<Fixture>;

const DRAIN_MS = 2_000;

/**
 * `connect()` types its `tls` option as client and server options at once
 * (ConnectOptions & NodeOptions), so client-only options need this cast;
 * at run time only the client options are used.
 */
export function connectTls(tls: TlsClientOptions | undefined): (TlsClientOptions & TlsServerOptions) | undefined {
  return tls as (TlsClientOptions & TlsServerOptions) | undefined;
}

/** Node options from fixture options, with no key set to undefined. */
function nodeOptions(options: FixtureOptions): { dev?: boolean; limits?: Partial<Limits>; logger: Logger } {
  return {
    logger: recordingLogger(),
    ...(options.dev !== undefined && { dev: options.dev }),
    ...(options.limits !== undefined && { limits: options.limits }),
  };
}

/** One node that serves and calls itself: `node.client()` of a contract it serves. */
export const inProcessFixture: MakeFixture = async (options) => {
  const node = await startNode({ name: "server", ...nodeOptions(options) });
  return {
    routed: true,
    events: { caller: node, server: node },
    client: (contract, clientOptions) => node.client(contract, clientOptions),
    serve: async (contract, handlers) => {
      node.serve(contract, handlers);
    },
    close: () => node.close({ timeout: DRAIN_MS }),
  };
};

let inprocCounter = 0;

/** Two nodes in one process over `inproc://`; the caller uses `node.client()` after `node.connect()`. */
export const inprocFixture: MakeFixture = async (options) => {
  const common = nodeOptions(options);
  const server = await startNode({ name: "server", listen: `inproc://conformance-${process.pid}-${++inprocCounter}`, ...common });
  let caller: Node | undefined;
  try {
    caller = await startNode({ name: "caller", ...common });
    const peer = await caller.connect(server.addresses[0]!);
    const callerNode = caller;
    return {
      routed: true,
      events: { caller: callerNode, server },
      client: (contract, clientOptions) => callerNode.client(contract, clientOptions),
      serve: async (contract, handlers) => {
        server.serve(contract, handlers);
        await waitFor(
          () => peer.services.some(([name, version]) => name === contract.name && version === contract.version),
          2_000,
          `the caller hears that the server serves ${contract.name}`,
        );
      },
      close: async () => {
        await callerNode.close({ timeout: DRAIN_MS });
        await server.close({ timeout: DRAIN_MS });
      },
    };
  } catch (error) {
    await caller?.close({ timeout: 0 });
    await server.close({ timeout: 0 });
    throw error;
  }
};

/** A server node listening on `address` and a client made by `connect()`; calls go to that peer. */
export function socketFixture(address: () => string, tls?: { server: TlsServerOptions; client: TlsClientOptions }): MakeFixture {
  return async (options) => {
    const common = nodeOptions(options);
    const server = await startNode({ name: "server", listen: address(), tls: tls?.server, ...common });
    let peer: Peer;
    try {
      peer = await connect(server.addresses[0]!, { name: "caller", tls: connectTls(tls?.client), ...common });
    } catch (error) {
      await server.close({ timeout: 0 });
      throw error;
    }
    return {
      routed: false,
      events: { caller: peer, server },
      client: (contract, clientOptions) => peer.client(contract, clientOptions),
      serve: async (contract, handlers) => {
        server.serve(contract, handlers);
      },
      close: async () => {
        await peer.close();
        await server.close({ timeout: DRAIN_MS });
      },
    };
  };
}
