// connect(): the plain client-server arrangement. Its options are node options too, and its peer
// shows the other end as it is now.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { contract, unary } from "../../src/index.ts";
import { rejection, withTeardown, type Teardown } from "./support.ts";

const Big = contract("rpc.big", "1.0.0", {
  blob: unary({ input: z.object({ size: z.number().int().min(0) }), output: z.string() }),
});
const Later = contract("rpc.later", "1.0.0", {
  hello: unary({ input: z.object({}), output: z.string() }),
});

async function bigServer(td: Teardown): Promise<string> {
  const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0" });
  server.serve(Big, { blob: ({ size }) => "x".repeat(size) });
  return server.addresses[0]!;
}

test("connect() accepts options whose optional fields are undefined", () =>
  withTeardown(async (td) => {
    const address = await bigServer(td);
    const peer = await td.connect(address, { name: "caller", limits: undefined, tls: undefined, dev: undefined });
    assert.equal(await peer.client(Big).blob({ size: 3 }), "xxx");
  }));

test("connect() with some limits set keeps the defaults of the others (a 5 MiB frame is still refused)", () =>
  withTeardown(async (td) => {
    const address = await bigServer(td);
    const fiveMiB = 5 * 1024 * 1024;

    const plain = await td.connect(address);
    const refused = await rejection(plain.client(Big).blob({ size: fiveMiB }));
    assert.equal(refused.code, "UNAVAILABLE", "without limits, the default 4 MiB frame limit holds");

    const small = await td.connect(address, { limits: { maxFrameSize: 64 * 1024 } });
    await rejection(small.client(Big).blob({ size: 100 * 1024 }));

    const tuned = await td.connect(address, { limits: { streamWindow: 8 } });
    const error = await rejection(tuned.client(Big).blob({ size: fiveMiB }));
    assert.equal(error.code, "UNAVAILABLE", "setting streamWindow must not lift the default 4 MiB frame limit");
  }));

test("the peer from connect() shows the other end's current services", () =>
  withTeardown(async (td) => {
    const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0" });
    server.serve(Big, { blob: () => "" });
    const viaNode = await td.node({ name: "caller-node" });
    const nodePeer = await viaNode.connect(server.addresses[0]!);
    const peer = await td.connect(server.addresses[0]!);
    assert.deepEqual(peer.services, [["rpc.big", "1.0.0"]]);
    assert.equal(peer.remote.name, "server");
    // Round trips first, so that both connections are fully set up on the server's side too.
    await nodePeer.client(Big).blob({ size: 0 });
    await peer.client(Big).blob({ size: 0 });

    server.serve(Later, { hello: () => "hi" });
    // A round trip on each connection: the announcement, sent before the answer, has arrived.
    await nodePeer.client(Big).blob({ size: 0 });
    await peer.client(Big).blob({ size: 0 });
    assert.deepEqual(nodePeer.services, [["rpc.big", "1.0.0"], ["rpc.later", "1.0.0"]], "node.connect()'s peer is current");
    assert.deepEqual(peer.services, [["rpc.big", "1.0.0"], ["rpc.later", "1.0.0"]], "connect()'s peer is current too");
  }));

test("a service served right after a node connects is announced to it, and reachable by node.client()", () =>
  withTeardown(async (td) => {
    const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0" });
    server.serve(Big, { blob: () => "" });
    const caller = await td.node({ name: "caller" });
    const peer = await caller.connect(server.addresses[0]!);
    server.serve(Later, { hello: () => "hi" }); // at once: the server may not have read the caller's HELLO yet
    await peer.client(Big).blob({ size: 0 }); // the announcement, if sent, arrives before this answer
    assert.deepEqual(peer.services, [["rpc.big", "1.0.0"], ["rpc.later", "1.0.0"]]);
    assert.equal(await caller.client(Later).hello({}), "hi");
  }));
