// The registry backend and the NATS engine take a node with 1,000 services, as gossip does.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startNode, type Node } from "../../src/index.ts";
import { serveRegistry } from "../../src/lookup/registry/server.ts";
import { nats } from "../../src/nats/index.ts";
import { requireOrSkip } from "../support/require.ts";
import { natsMissing, startNatsServer } from "../support/nats-server.ts";
import { manyServices } from "./many-services.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function eventually(what: string, probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Serves 1,000 services × 10 methods on `big`, then checks `other` sees them all and calls the last one. */
async function seesAll(big: Node, other: Node): Promise<void> {
  const services = manyServices(1_000, 10);
  for (const { contract, handlers } of services) big.serve(contract, handlers);
  await eventually("all 1,000 services in the other node's look-up", () => {
    const member = other.members().find((m) => m.record.id === big.id);
    return member !== undefined && member.record.services.filter(([name]) => name.startsWith("inventory.")).length === 1_000;
  });
  const client = other.client(services[999]!.contract) as unknown as Record<string, (input: unknown, options?: object) => Promise<unknown>>;
  // The first call may wait while the big node still subscribes and indexes its 1,000 services on a loaded machine.
  assert.equal(await client.method9!({}, { timeout: 15_000 }), "inventory.service-number-999");
}

test("a registry takes a node serving 1,000 services, and its clients see them all", async (t) => {
  const registry = await startNode({ name: "registry", listen: "tcp://127.0.0.1:0", lookup: false, logger: silent });
  const stop = serveRegistry(registry);
  const address = registry.addresses[0]!;
  const big = await startNode({ name: "big", cluster: `many-${process.pid}`, listen: "tcp://127.0.0.1:0", registry: address, logger: silent });
  const other = await startNode({ name: "other", cluster: `many-${process.pid}`, listen: "tcp://127.0.0.1:0", registry: address, logger: silent });
  t.after(async () => {
    await Promise.all([big.close(), other.close()]);
    stop();
    await registry.close();
  });
  await seesAll(big, other);
});

test("the NATS engine takes a node serving 1,000 services, and the others see them all", async (t) => {
  if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
  const server = await startNatsServer();
  const cluster = `many-${process.pid}`;
  const engine = () => nats({ servers: [server.url], lookup: { heartbeat: 500 } });
  const big = await startNode({ name: "big", cluster, engine: engine(), logger: silent });
  const other = await startNode({ name: "other", cluster, engine: engine(), logger: silent });
  t.after(async () => {
    await Promise.all([big.close(), other.close()]);
    await server.stop();
  });
  await seesAll(big, other);
});
