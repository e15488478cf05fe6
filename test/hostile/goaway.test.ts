import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { z } from "zod";
import { contract, RpcError, startNode, unary } from "../../src/index.ts";
import { FrameKind } from "../../src/wire/index.ts";
import { RawPeer, Status } from "./raw-peer.ts";

const Echo = contract("echo", "1.0.0", { echo: unary({ input: z.object({ text: z.string() }), output: z.string() }) });

/**
 * A server that answers the handshake, reads one CALL, then closes with a
 * GOAWAY whose body is `goAwayBody(callId)`: the caller must judge from it
 * whether its call may have run.
 */
async function callAgainstClosingServer(goAwayBody: (callId: number) => unknown[]): Promise<RpcError> {
  let accepted: RawPeer | undefined;
  const server = net.createServer((socket) => {
    const peer = RawPeer.accepted(socket);
    accepted = peer;
    void (async () => {
      await peer.waitForFrame((frame) => frame.kind === FrameKind.Hello, "the caller's HELLO");
      peer.sendHello({ services: [["echo", "1.0.0"]] });
      const call = await peer.waitForFrame((frame) => frame.kind === FrameKind.Call, "the CALL");
      peer.send(FrameKind.GoAway, 0, goAwayBody(call.id));
      socket.end();
    })().catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const node = await startNode({ name: "caller", logger: { debug() {}, info() {}, warn() {}, error() {} } });
  try {
    const peer = await node.connect(`tcp://127.0.0.1:${port}`);
    const error = await peer.client(Echo).echo({ text: "x" }).then(
      () => assert.fail("the call cannot succeed"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RpcError);
    return error;
  } finally {
    accepted?.destroy();
    await node.close({ timeout: 0 });
    await new Promise((resolve) => server.close(resolve));
  }
}

test("a GOAWAY that says our call was never read makes it fail as not processed", async () => {
  const error = await callAgainstClosingServer((id) => [Status.UNAVAILABLE, "closing", false, id - 1]);
  assert.equal(error.code, "UNAVAILABLE");
  assert.equal(error.unprocessed, true);
  assert.match(error.message, /before it read the call .*safe to retry/);
});

test("a GOAWAY that says our call was read leaves it as may-have-run", async () => {
  const error = await callAgainstClosingServer((id) => [Status.UNAVAILABLE, "closing", false, id]);
  assert.equal(error.unprocessed, false);
  assert.match(error.message, /it may have run/);
});

test("a GOAWAY without the last call read, or with a bad one, leaves it as may-have-run", async () => {
  for (const body of [(_id: number) => [Status.UNAVAILABLE, "closing", false], (_id: number) => [Status.UNAVAILABLE, "closing", false, -1], (_id: number) => [Status.UNAVAILABLE, "closing", false, "x"]]) {
    const error = await callAgainstClosingServer(body);
    assert.equal(error.unprocessed, false, JSON.stringify(body(1)));
  }
});
