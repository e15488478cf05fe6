import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { Calculator } from "../../examples/calculator/contract.ts";
import { RpcError, startNode } from "../../src/index.ts";
import { RegistryContract } from "../../src/lookup/registry/contract.ts";
import { serveRegistry } from "../../src/lookup/registry/server.ts";
import { recordingLogger } from "../conformance/helpers.ts";

/**
 * A node registered in a registry at an address that accepts connections and
 * never answers: a caller that finds it must dial, and the dial hangs in the
 * handshake. The caller's calls must still end by their own deadline or signal.
 */
test("a call waiting for its connection ends at its deadline or its signal, as not processed", async (t) => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const registry = await startNode({ name: "registry", listen: "tcp://127.0.0.1:0", logger: recordingLogger() });
  const stopRegistry = serveRegistry(registry);
  const caller = await startNode({ name: "caller", cluster: "dial", registry: registry.addresses[0]!, logger: recordingLogger(), limits: { handshakeTimeout: 30_000 } });
  t.after(async () => {
    await caller.close({ timeout: 0 });
    stopRegistry();
    await registry.close({ timeout: 0 });
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });
  const record = {
    id: "silent-node",
    name: "silent",
    cluster: "dial",
    gossip: "",
    addresses: [`tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}`],
    labels: {},
    services: [["calculator", "1.2.0"]] as Array<[string, string]>,
    load: 0,
  };
  await registry.client(RegistryContract).register({ record, ttl: 60_000 });
  const until = Date.now() + 10_000;
  while (caller.lookup(Calculator).length === 0) {
    if (Date.now() > until) throw new Error("the silent node never showed in the caller's look-up");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const calculator = caller.client(Calculator, { balance: { retries: 0 } });

  const late = await calculator.add({ a: 1, b: 2 }, { timeout: 200 }).then(
    () => assert.fail("the call cannot succeed"),
    (error: unknown) => error as RpcError,
  );
  assert.equal(late.code, "DEADLINE_EXCEEDED", late.message);
  assert.equal(late.unprocessed, true);
  assert.match(late.message, /while connecting to tcp:/);

  const abort = new AbortController();
  const cancelled = calculator.add({ a: 1, b: 2 }, { signal: abort.signal, timeout: 30_000 }).then(
    () => assert.fail("the call cannot succeed"),
    (error: unknown) => error as RpcError,
  );
  setTimeout(() => abort.abort(), 50);
  const error = await cancelled;
  assert.equal(error.code, "CANCELLED", error.message);
  assert.equal(error.unprocessed, true);
});
