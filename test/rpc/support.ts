/** Helpers of the RPC semantics tests: nodes that are always closed, in the right order. */
import { connect, startNode, type ConnectOptions, type Node, type NodeOptions, type Peer } from "../../src/index.ts";
import { recordingLogger, within } from "../conformance/helpers.ts";

export * from "../conformance/helpers.ts";

/**
 * What a test started, closed in reverse order at the end: callers before
 * the servers they call, so a server's close never waits on a caller.
 */
export class Teardown {
  readonly #items: Array<{ what: string; close: () => Promise<unknown> }> = [];

  /** Registers something to close. */
  add<T>(what: string, item: T, close: (item: T) => Promise<unknown>): T {
    this.#items.push({ what, close: () => close(item) });
    return item;
  }

  /** Starts a node (quiet logger unless one is given), closed at the end. */
  async node(options: NodeOptions = {}): Promise<Node> {
    const node = await startNode({ logger: recordingLogger(), ...options });
    return this.add(`node ${node.name}`, node, (n) => n.close({ timeout: 1_000 }));
  }

  /** `connect()`s to `address`, closed at the end. */
  async connect(address: string, options: ConnectOptions & Omit<NodeOptions, "listen"> = {}): Promise<Peer> {
    const peer = await connect(address, { logger: recordingLogger(), ...options });
    return this.add(`client of ${address}`, peer, (p) => p.close());
  }

  /** Closes everything, newest first; each close must finish within 5 s. */
  async run(): Promise<void> {
    let first: unknown;
    for (const { what, close } of this.#items.splice(0).reverse()) {
      try {
        await within(close(), 5_000, `closing ${what}`);
      } catch (error) {
        first ??= error;
      }
    }
    if (first !== undefined) throw first;
  }
}

/** Runs `body` with a Teardown that is always run afterwards. */
export async function withTeardown(body: (td: Teardown) => Promise<void>): Promise<void> {
  const td = new Teardown();
  let failure: { error: unknown } | undefined;
  try {
    await body(td);
  } catch (error) {
    failure = { error };
  }
  try {
    await td.run();
  } catch (error) {
    // A failure of the test itself says more than the teardown's that follows from it.
    if (!failure) throw error;
  }
  if (failure) throw failure.error;
}
