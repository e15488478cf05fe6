/**
 * The cluster key at the connection: a node that holds one serves and calls
 * only peers that prove it at the handshake. Real nodes over real TCP, and a
 * raw socket that tries what an outsider would: no key, a wrong proof, a
 * call before any proof.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Calculator, handlers as calculatorHandlers } from "../../examples/calculator/service.ts";
import { z } from "zod";
import { connect, contract, RpcError, startNode, unary, type CallContext, type Node, type NodeOptions } from "../../src/index.ts";
import { ConnectionKey } from "../../src/rpc/connection-proof.ts";
import { FrameKind } from "../../src/wire/index.ts";
import { assertRefused } from "./harness.ts";
import { RawPeer, Status } from "./raw-peer.ts";

const KEY = "the cluster's key";

/** A logger that keeps its warnings. */
function recording(): { warnings: string[]; logger: NonNullable<NodeOptions["logger"]> } {
  const warnings: string[] = [];
  return { warnings, logger: { debug() {}, info() {}, warn: (_obj, msg) => void warnings.push(msg ?? ""), error() {} } };
}

/** A keyed calculator that records who called it. */
async function keyedServer(t: TestContext, options: NodeOptions = {}): Promise<{ node: Node; callers: CallContext["caller"][] }> {
  const callers: CallContext["caller"][] = [];
  const node = await startNode({ name: "keyed", listen: "tcp://127.0.0.1:0", clusterKey: KEY, logger: recording().logger, ...options });
  t.after(() => node.close({ timeout: 0 }));
  node.serve(Calculator, { ...calculatorHandlers, add: (input, ctx) => (callers.push(ctx.caller), calculatorHandlers.add(input, ctx)) });
  return { node, callers };
}

test("peers with the cluster key prove it both ways; the server knows its caller as the principal `cluster`", async (t) => {
  const { node, callers } = await keyedServer(t, { authorization: { rules: [{ callers: ["cluster"], methods: ["calculator.*"] }] } });
  const peer = await connect(node.addresses[0]!, { clusterKey: KEY, logger: recording().logger });
  t.after(() => peer.close());
  assert.equal(await peer.client(Calculator).add({ a: 2, b: 3 }), 5);
  assert.equal(callers[0]?.provedClusterKey, true, "the server saw the proof");
  assert.equal(peer.remote.provedClusterKey, true, "the dialer saw the server's proof too");
  // Without the key the same policy refuses: the principal came from the proof.
  const open = await startNode({ name: "open", listen: "tcp://127.0.0.1:0", logger: recording().logger, authorization: { rules: [{ callers: ["cluster"], methods: ["calculator.*"] }] } });
  t.after(() => open.close({ timeout: 0 }));
  open.serve(Calculator, calculatorHandlers);
  const anonymous = await connect(open.addresses[0]!, { logger: recording().logger });
  t.after(() => anonymous.close());
  await assert.rejects(anonymous.client(Calculator).add({ a: 2, b: 3 }), (error: unknown) => error instanceof RpcError && error.code === "UNAUTHENTICATED");
});

test("a peer without the key, or with another, is refused at the handshake; its calls never run", async (t) => {
  const { node, callers } = await keyedServer(t);
  const address = node.addresses[0]!;
  for (const [what, clusterKey, why] of [
    ["no key", undefined, /requires a cluster key, and this node holds none/],
    ["another key", "not the key", /does not match this node's cluster key/],
  ] as const) {
    await assert.rejects(
      connect(address, { ...(clusterKey === undefined ? {} : { clusterKey }), logger: recording().logger, connectTimeout: 3_000 }),
      (error: unknown) => error instanceof RpcError && error.code === "UNAUTHENTICATED" && why.test(error.message),
      `${what}: refused, saying why`,
    );
  }
  assert.equal(callers.length, 0, "no call reached the handler");
});

test("a keyed node dialing a node without the key refuses to use the connection, and says so", async (t) => {
  const open = await startNode({ name: "keyless", listen: "tcp://127.0.0.1:0", logger: recording().logger });
  t.after(() => open.close({ timeout: 0 }));
  let served = 0;
  open.serve(Calculator, { ...calculatorHandlers, add: (input, ctx) => (served++, calculatorHandlers.add(input, ctx)) });
  const { warnings, logger } = recording();
  await assert.rejects(connect(open.addresses[0]!, { clusterKey: KEY, logger, connectTimeout: 3_000 }), (error: unknown) => error instanceof RpcError && error.code === "UNAUTHENTICATED" && /requires its cluster key/.test(error.message));
  assert.ok(warnings.some((line) => /could not be trusted: this node requires its cluster key/.test(line)), `a warning says why: ${warnings.join(" | ")}`);
  assert.equal(served, 0);
});

test("raw sockets: no nonce, a forged proof, and a CALL in place of the proof are each refused UNAUTHENTICATED or as a protocol error; the node keeps serving", async (t) => {
  const { node, callers } = await keyedServer(t);
  const address = node.addresses[0]!;
  const good = await connect(address, { clusterKey: KEY, logger: recording().logger });
  t.after(() => good.close());

  const noNonce = await RawPeer.connect(address);
  t.after(() => noNonce.destroy());
  noNonce.sendHello();
  await assertRefused(noNonce, /requires its cluster key/, Status.UNAUTHENTICATED);

  const forged = await RawPeer.connect(address);
  t.after(() => forged.destroy());
  forged.sendHello({ nonce: "00".repeat(16) });
  const hello = await forged.waitForFrame((frame) => frame.kind === FrameKind.Hello, "the node's HELLO");
  assert.match((hello.body as { nonce: string }).nonce, /^[0-9a-f]{32}$/, "the keyed node sent a nonce");
  forged.send(FrameKind.Proof, 0, "ab".repeat(32));
  await assertRefused(forged, /PROOF does not match/, Status.UNAUTHENTICATED);

  const eager = await RawPeer.connect(address);
  t.after(() => eager.destroy());
  eager.sendHello({ nonce: "11".repeat(16) });
  eager.sendCall(1, "calculator", "add", { a: 1, b: 1 });
  await assertRefused(eager, /expected PROOF after HELLO, got frame kind 16/, Status.UNAUTHENTICATED);

  // A PROOF on an established connection, or on one whose node holds no key, is a protocol error.
  const open = await startNode({ name: "keyless-target", listen: "tcp://127.0.0.1:0", logger: recording().logger });
  t.after(() => open.close({ timeout: 0 }));
  const late = await RawPeer.handshaken(open.addresses[0]!);
  t.after(() => late.destroy());
  late.send(FrameKind.Proof, 0, "ab".repeat(32));
  await assertRefused(late, /a PROOF outside the handshake/);

  assert.equal(callers.length, 0, "no raw call reached the handler");
  assert.equal(await good.client(Calculator).add({ a: 20, b: 22 }), 42, "the node still serves its cluster");
});

test("a proof is bound to both nonces, the prover's role and its id", () => {
  const key = new ConnectionKey(KEY);
  const [mine, theirs] = [key.nonce(), key.nonce()];
  assert.notEqual(mine, theirs, "nonces are fresh");
  const proof = key.prove("dialer", theirs, mine, "node-a");
  assert.ok(key.verify(proof, "dialer", theirs, mine, "node-a"), "the right proof verifies");
  assert.ok(!key.verify(proof, "acceptor", theirs, mine, "node-a"), "not as the other role (no reflection)");
  assert.ok(!key.verify(proof, "dialer", key.nonce(), mine, "node-a"), "not on another connection (no replay)");
  assert.ok(!key.verify(proof, "dialer", theirs, mine, "node-b"), "not for another node id");
  assert.ok(!new ConnectionKey("another key").verify(proof, "dialer", theirs, mine, "node-a"), "not under another key");
  assert.ok(!key.verify("not hex", "dialer", theirs, mine, "node-a"));
});

const Whoami = contract("test.whoami", "1.0.0", {
  meta: unary({ input: z.object({}), output: z.record(z.string(), z.string()) }),
});
const FORGED = { "amoeba-caller": "admin", "amoeba-caller-role": "root", "x-trace-me": "yes" };

test("amoeba-caller metadata is believed only from a caller that proved who it is; dropped from others, once said in a warning", async (t) => {
  const serveWhoami = async (options: NodeOptions) => {
    const log = recording();
    const node = await startNode({ name: "whoami", listen: "tcp://127.0.0.1:0", logger: log.logger, ...options });
    t.after(() => node.close({ timeout: 0 }));
    node.serve(Whoami, { meta: (_input, ctx) => ({ ...ctx.meta }) });
    return { node, warnings: log.warnings };
  };

  const open = await serveWhoami({});
  const anonymous = await connect(open.node.addresses[0]!, { logger: recording().logger });
  t.after(() => anonymous.close());
  const client = anonymous.client(Whoami);
  for (let i = 0; i < 2; i++) assert.deepEqual(await client.meta({}, { meta: FORGED }), { "x-trace-me": "yes" }, "the caller's own keys stay; the identity keys are gone");
  assert.equal(open.warnings.filter((line) => /dropped amoeba-caller metadata from .* which proved no identity/.test(line)).length, 1, `one warning per connection: ${open.warnings.join(" | ")}`);
  assert.deepEqual(await open.node.client(Whoami).meta({}, { meta: FORGED }), FORGED, "the node's own in-process calls keep them");

  const keyed = await serveWhoami({ clusterKey: KEY });
  const member = await connect(keyed.node.addresses[0]!, { clusterKey: KEY, logger: recording().logger });
  t.after(() => member.close());
  assert.deepEqual(await member.client(Whoami).meta({}, { meta: FORGED }), FORGED, "a peer that proved the cluster key speaks for its end users");
  assert.deepEqual(keyed.warnings, []);
});
