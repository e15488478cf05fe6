// Failures outside a call are typed: a refused dial is a ConnectError, a closed node a NodeClosedError, both
// AmoebaErrors with a stable code and `unprocessed`; a call that fails for such a reason is an RpcError whose
// cause is the typed error; and `instanceof` holds across two loaded copies of the module.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { z } from "zod";
import { AmoebaError, ConnectError, contract, NodeClosedError, RpcError, unary } from "../../src/index.ts";
import { withTeardown } from "./support.ts";

const Ping = contract("rpc.ping", "1.0.0", { ping: unary({ input: z.object({}), output: z.string() }) });

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("dialing where nothing listens is a ConnectError CONNECT_REFUSED, unprocessed, naming the address (TCP and Unix)", () =>
  withTeardown(async (td) => {
    const node = await td.node({ name: "dialer" });
    const dir = mkdtempSync(join(tmpdir(), "amoeba-errors-"));
    try {
      for (const address of [`tcp://127.0.0.1:${await closedPort()}`, `unix://${join(dir, "none.sock")}`]) {
        await assert.rejects(node.connect(address), (error: unknown) => {
          assert.ok(error instanceof ConnectError, `a ConnectError, not ${String(error)}`);
          assert.ok(error instanceof AmoebaError);
          assert.equal(error.code, "CONNECT_REFUSED");
          assert.equal(error.unprocessed, true);
          assert.equal(error.address, address);
          assert.match(error.message, /is a node listening there/);
          return true;
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test("a call whose dial fails is UNAVAILABLE, unprocessed, with the ConnectError as its cause", () =>
  withTeardown(async (td) => {
    const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0" });
    server.serve(Ping, { ping: () => "pong" });
    const caller = await td.node({ name: "caller" });
    const peer = await caller.connect(server.addresses[0]!);
    const client = peer.client(Ping);
    assert.equal(await client.ping({}), "pong");
    await server.close({ timeout: 500 });
    // The connection is gone; the next call dials again, and nothing listens any more.
    await assert.rejects(client.ping({}, { timeout: 2_000 }), (error: unknown) => {
      assert.ok(error instanceof RpcError);
      assert.equal(error.code, "UNAVAILABLE");
      assert.equal(error.unprocessed, true);
      assert.ok(error.cause instanceof ConnectError, `cause ${String(error.cause)}`);
      assert.equal(error.cause.code, "CONNECT_REFUSED");
      return true;
    });
  }));

test("a closed node refuses new work with NodeClosedError", () =>
  withTeardown(async (td) => {
    const node = await td.node({ name: "short-lived" });
    await node.close();
    assert.throws(() => node.serve(Ping, { ping: () => "pong" }), (error: unknown) => error instanceof NodeClosedError && error.code === "NODE_CLOSED" && error.unprocessed);
    await assert.rejects(node.listen("tcp://127.0.0.1:0"), NodeClosedError);
    await assert.rejects(node.connect("tcp://127.0.0.1:1"), (error: unknown) => error instanceof AmoebaError && !(error instanceof ConnectError));
  }));

test("instanceof holds across two loaded copies of the errors module, and tells the classes apart", async () => {
  const copy = (await import(`../../src/transport/errors.ts?copy=${Date.now()}`)) as typeof import("../../src/transport/errors.ts");
  assert.notEqual(copy.ConnectError, ConnectError, "a second copy of the module");
  const theirs = new copy.ConnectError("CONNECT_TIMEOUT", "tcp://127.0.0.1:9", "no connection within 5 ms");
  assert.ok(theirs instanceof ConnectError);
  assert.ok(theirs instanceof AmoebaError);
  assert.ok(!(theirs instanceof NodeClosedError));
  assert.ok(new copy.NodeClosedError("n") instanceof NodeClosedError);
  assert.ok(!(new Error("plain") instanceof AmoebaError));
});
