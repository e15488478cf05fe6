// The RpcError brand: instanceof works across two loaded copies of Amoeba (the class uses Symbol.for).
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { contract, isRpcError, RpcError, unary } from "../../src/index.ts";
import { rejection, withTeardown } from "./support.ts";

type RpcErrorModule = typeof import("../../src/rpc/rpc-error.ts");

/** A second, separately evaluated copy of the module, as when two copies of Amoeba are installed. */
async function secondCopy(): Promise<RpcErrorModule> {
  const url = new URL("../../src/rpc/rpc-error.ts", import.meta.url);
  url.search = "?second-copy";
  return (await import(url.href)) as RpcErrorModule;
}

test("instanceof RpcError holds across two copies of the class, both ways", async () => {
  const copy = await secondCopy();
  assert.notEqual(copy.RpcError, RpcError, "the copy is a distinct class");
  const foreign = new copy.RpcError("NOT_FOUND", "from the other copy", { service: "s", method: "m", node: "n" });
  const ours = new RpcError("CANCELLED", "from this copy");
  assert.ok(foreign instanceof RpcError);
  assert.ok(ours instanceof copy.RpcError);
  assert.ok(isRpcError(foreign));
  assert.ok(copy.isRpcError(ours));
  assert.equal(foreign.code, "NOT_FOUND");
  assert.equal(foreign.target, "s.m");
});

test("instanceof RpcError is false for look-alikes", () => {
  assert.equal(new Error("plain") instanceof RpcError, false);
  assert.equal({ code: "CANCELLED", message: "x", name: "RpcError" } instanceof RpcError, false);
  assert.equal((null as unknown) instanceof RpcError, false);
  assert.equal(("RpcError" as unknown) instanceof RpcError, false);
  assert.equal(isRpcError(undefined), false);
});

test("an RpcError is an Error with a fixed code set, and plain data as JSON", () => {
  const error = new RpcError("PERMISSION_DENIED", "no", { details: { why: "role" }, service: "s", method: "m", node: "n", unprocessed: true });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "RpcError");
  assert.deepEqual(JSON.parse(JSON.stringify(error)), {
    code: "PERMISSION_DENIED",
    message: "no",
    details: { why: "role" },
    service: "s",
    method: "m",
    node: "n",
    unprocessed: true,
  });
  assert.equal(new RpcError("NOT_A_CODE" as RpcError["code"], "odd").code, "UNKNOWN", "an unknown code becomes UNKNOWN");
});

test("errors from remote calls are RpcErrors by instanceof", () =>
  withTeardown(async (td) => {
    const Thrower = contract("rpc.thrower", "1.0.0", { go: unary({ input: z.object({}), output: z.null() }) });
    const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0" });
    server.serve(Thrower, {
      go: () => {
        throw new RpcError("RESOURCE_EXHAUSTED", "full");
      },
    });
    const peer = await td.connect(server.addresses[0]!);
    const error = await rejection(peer.client(Thrower).go({}));
    assert.ok(error instanceof RpcError);
    assert.ok(error instanceof Error);
    assert.equal(error.code, "RESOURCE_EXHAUSTED");
    const copy = await secondCopy();
    assert.ok(error instanceof copy.RpcError, "and by the other copy's class too");
  }));
