/**
 * A node serving the calculator (plus a small probe contract for client
 * streams), a well-behaved client of it, and the checks every hostile case
 * ends with: the good client still gets right answers, and no socket is left
 * open by the hostile peer.
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { z } from "zod";
import { Calculator, handlers as calculatorHandlers } from "../../examples/calculator/service.ts";
import { clientStream, connect, contract, startNode, type Client, type Node, type NodeOptions, type Peer } from "../../src/index.ts";
import { RawPeer, Status, waitUntil } from "./raw-peer.ts";

/** A client-streaming method, to test stream credit from the caller's side. */
export const Probe = contract("probe", "1.0.0", {
  /** Never reads its input; returns when the call ends. */
  hold: clientStream({ input: z.number(), output: z.number() }),
});

export interface Fixture {
  node: Node;
  /** `tcp://127.0.0.1:<port>` */
  address: string;
  good: Peer;
  calc: Client<typeof Calculator>;
  /** Items the calculator's `count` has produced, over all calls. */
  produced(): number;
  /** Open TCP sockets in this process (both ends of every connection count). */
  sockets(): number;
  /** Sockets open once the node and the good client are connected. */
  baseline: number;
  /** The good client gets correct sums. */
  assertServing(): Promise<void>;
  /** The good client gets correct sums, and the socket count returns to the baseline (every raw peer is closed). */
  assertHealthy(): Promise<void>;
  /** Raw peers to destroy before the node closes. */
  readonly peers: Set<RawPeer>;
  /** Destroys the raw peers, closes the good client, then the node (failing if that takes over 5 s). */
  close(): Promise<void>;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Counts open TCP sockets of this process: both ends of every connection to
 * the node (the tests dial it over TCP; pipes are left out because the test
 * runner's own pipes come and go).
 */
export function openSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === "TCPSocketWrap").length;
}

/** Starts the node and the good client. Close it with `close()` (use try/finally or t.after). */
export async function startFixture(options: NodeOptions = {}): Promise<Fixture> {
  let produced = 0;
  const node = await startNode({ name: "calc-under-attack", listen: "tcp://127.0.0.1:0", logger: silent, ...options });
  let good: Peer | undefined;
  try {
    node.serve(Calculator, {
      ...calculatorHandlers,
      // The example's count, counting what it produces (wrapping the example's generator
      // in another one would double the cost of every item).
      async *count({ to }, ctx) {
        for (let i = 1; i <= to && !ctx.signal.aborted; i++) {
          produced++;
          yield i;
        }
      },
    });
    node.serve(Probe, {
      async hold(_items, ctx) {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        return 0;
      },
    });
    const address = node.addresses[0]!;
    good = await connect(address, { logger: silent });
    const calc = good.client(Calculator);
    assert.equal(await calc.add({ a: 1, b: 1 }), 2);
    const baseline = openSockets();
    let round = 0;
    const peers = new Set<RawPeer>();
    const fixture: Fixture = {
      peers,
      node,
      address,
      good,
      calc,
      produced: () => produced,
      sockets: openSockets,
      baseline,
      async assertServing() {
        round++;
        const a = 1000 + round;
        const b = round * 7;
        assert.equal(await calc.add({ a, b }, { timeout: 2_000 }), a + b, "the well-behaved client gets correct answers");
      },
      async assertHealthy() {
        await fixture.assertServing();
        await waitUntil(() => openSockets() <= baseline, `open sockets to fall back to ${baseline} (now ${openSockets()})`);
        assert.equal(openSockets(), baseline, "no socket leaked");
      },
      async close() {
        // Raw peers go first: this teardown is not what the tests examine.
        for (const peer of peers) peer.destroy();
        await Promise.all([...peers].map((peer) => peer.whenClosed()));
        await within(good!.close(), 5_000, "closing the good client");
        await within(node.close({ timeout: 500 }), 5_000, "closing the node");
      },
    };
    return fixture;
  } catch (error) {
    await good?.close();
    await node.close({ timeout: 0 });
    throw error;
  }
}

/** A fixture closed when the test ends. */
export async function fixture(t: TestContext, options: NodeOptions = {}): Promise<Fixture> {
  const f = await startFixture(options);
  t.after(() => f.close());
  return f;
}

/** A raw peer destroyed when the test ends; handshaken unless `handshake` is false. */
export async function hostilePeer(t: TestContext, f: Fixture, handshake = true): Promise<RawPeer> {
  const peer = handshake ? await RawPeer.handshaken(f.address) : await RawPeer.connect(f.address);
  f.peers.add(peer);
  t.after(() => peer.destroy());
  return peer;
}

/** Resolves as `promise` does, or rejects when it takes over `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The node refused what the peer sent: it said why in a GOAWAY [code, message, false]
 * and closed the connection itself.
 */
export async function assertRefused(peer: RawPeer, message: RegExp, code: number = Status.INTERNAL): Promise<void> {
  await peer.waitForServerClose();
  const goAway = peer.goAway();
  assert.ok(goAway, `expected a GOAWAY before the close; received kinds ${peer.frames.map((f) => f.kind).join(",") || "none"}`);
  assert.equal(goAway[0], code, `GOAWAY code (message: ${goAway[1]})`);
  assert.match(goAway[1], message);
  assert.equal(goAway[2], false, "a protocol error is not a drain");
}
