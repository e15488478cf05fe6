/**
 * Bearer tokens between nodes: a dialing node presents its token in its
 * HELLO, the node it dials names the token's owner (`token:<name>`) or
 * refuses the connection. Real nodes over real TCP and TLS; a raw socket
 * tries what a caller holding another token would; the rule of where a
 * token may travel is checked on the handshake itself.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Calculator, handlers as calculatorHandlers } from "../../examples/calculator/service.ts";
import { connect, hashToken, newToken, RpcError, startNode, tokenTable, type CallContext, type Node, type NodeOptions } from "../../src/index.ts";
import { RegistryContract } from "../../src/lookup/registry/contract.ts";
import { serveRegistry } from "../../src/lookup/registry/server.ts";
import { Handshake } from "../../src/rpc/handshake.ts";
import { tokenMayTravel } from "../../src/rpc/tokens.ts";
import { FrameKind, PROTOCOL_NAME, PROTOCOL_VERSION } from "../../src/wire/index.ts";
import { hasCommand, makeCerts, recordingLogger } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { assertRefused } from "./harness.ts";
import { RawPeer, Status } from "./raw-peer.ts";

const ORDERS = newToken();
const BILLING = newToken();
const certs = hasCommand("openssl") ? makeCerts() : undefined;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const failsWith = (code: string, message?: RegExp) => (error: unknown) =>
  error instanceof RpcError && error.code === code && (message === undefined || message.test(error.message));

/** A calculator that takes the tokens of `orders` (by digest) and `billing` (as given), and records who called it. */
async function tokenServer(t: TestContext, options: NodeOptions = {}): Promise<{ node: Node; callers: CallContext["caller"][]; metas: CallContext["meta"][] }> {
  const callers: CallContext["caller"][] = [];
  const metas: CallContext["meta"][] = [];
  const node = await startNode({
    name: "tokens",
    listen: "tcp://127.0.0.1:0",
    tokens: [
      { name: "orders", sha256: hashToken(ORDERS) },
      { name: "billing", token: BILLING },
    ],
    logger: quiet,
    ...options,
  });
  t.after(() => node.close({ timeout: 0 }));
  node.serve(Calculator, { ...calculatorHandlers, add: (input, ctx) => (callers.push(ctx.caller), metas.push(ctx.meta), calculatorHandlers.add(input, ctx)) });
  return { node, callers, metas };
}

test("a token the node takes names its caller: ctx.caller.token and the principal token:<name> decide; the token itself reaches no handler", async (t) => {
  const { node, callers, metas } = await tokenServer(t, { authorization: { rules: [{ callers: ["token:orders"], methods: ["calculator.*"] }] } });
  const address = node.addresses[0]!;
  // The node's subscription goes out with its HELLO, before it has read the token: the dialer, waiting for
  // the verdict, keeps it and reads it once the node took the token.
  const heard: unknown[] = [];
  node.subscribe("orders.placed", (payload) => void heard.push(payload));
  const orders = await connect(address, { token: ORDERS, logger: quiet });
  t.after(() => orders.close());
  assert.equal(await orders.client(Calculator).add({ a: 2, b: 3 }), 5);
  orders.publish("orders.placed", { id: 7 });
  const until = Date.now() + 5_000;
  while (heard.length === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(heard, [{ id: 7 }], "the node's SUBSCRIBE, sent while the dialer waited for the verdict, was read");
  assert.equal(callers[0]?.token, "orders");
  assert.doesNotMatch(JSON.stringify([callers, metas]), new RegExp(ORDERS), "the token is nowhere in what the handler sees");

  // Another token the node knows: authenticated, so the policy's refusal is PERMISSION_DENIED.
  const billing = await connect(address, { token: BILLING, logger: quiet });
  t.after(() => billing.close());
  await assert.rejects(billing.client(Calculator).add({ a: 1, b: 1 }), failsWith("PERMISSION_DENIED", /token:billing|no rule allows it/));
  // No token: nobody known, UNAUTHENTICATED.
  const anonymous = await connect(address, { logger: quiet });
  t.after(() => anonymous.close());
  await assert.rejects(anonymous.client(Calculator).add({ a: 1, b: 1 }), failsWith("UNAUTHENTICATED", /or a token/));
  assert.equal(callers.length, 1, "only the orders call reached the handler");
});

test("an unknown token is refused at the handshake, and nothing it sends runs", async (t) => {
  const { node, callers } = await tokenServer(t);
  const address = node.addresses[0]!;
  await assert.rejects(
    connect(address, { token: newToken(), logger: quiet, connectTimeout: 3_000 }),
    failsWith("UNAUTHENTICATED", /the token the other end presented is not one this node takes/),
  );
  // A raw peer with a wrong token that calls at once, before it could know the outcome.
  const raw = await RawPeer.connect(address);
  t.after(() => raw.destroy());
  raw.sendHello({ token: "x".repeat(40) });
  raw.sendCall(1, "calculator", "add", { a: 1, b: 2 });
  await assertRefused(raw, /not one this node takes/, Status.UNAUTHENTICATED);
  assert.equal(raw.frames.filter((frame) => frame.kind === FrameKind.Result || frame.kind === FrameKind.Error).length, 0, "the call got an answer");
  // A token that is no string, or too long to be one, is a malformed HELLO.
  for (const token of [42, "y".repeat(5000)]) {
    const bad = await RawPeer.connect(address);
    t.after(() => bad.destroy());
    bad.sendHello({ token });
    await assertRefused(bad, /HELLO's token is not a string of at most 4096 characters/);
  }
  assert.equal(callers.length, 0);
  // The node is unharmed: a caller with its token is served.
  const orders = await connect(address, { token: ORDERS, logger: quiet });
  t.after(() => orders.close());
  assert.equal(await orders.client(Calculator).add({ a: 20, b: 22 }), 42);
});

test("a token travels only over TLS or to this machine: a dialer will not send it in the clear to another host, an acceptor refuses one that came so", () => {
  const credentials = { key: null, token: ORDERS, verifyToken: undefined };
  const plainAway = new Handshake(credentials, "dialer", "a", { secure: false, remoteAddress: "tcp://10.1.2.3:7400" });
  assert.match(plainAway.refusedAtOnce ?? "", /token would travel unencrypted to tcp:\/\/10\.1\.2\.3:7400: dial it over TLS/);
  assert.equal(plainAway.hello("a", "default", [], 1024).token, undefined, "no HELLO of it carries the token");
  const tlsAway = new Handshake(credentials, "dialer", "a", { secure: true, remoteAddress: "tcp://10.1.2.3:7400" });
  assert.equal(tlsAway.refusedAtOnce, null);
  assert.equal(tlsAway.hello("a", "default", [], 1024).token, ORDERS);
  // An acceptor never sends its own token back.
  assert.equal(new Handshake(credentials, "acceptor", "a", { secure: true, remoteAddress: "tcp://10.1.2.3:7400" }).hello("a", "default", [], 1024).token, undefined);

  const verifyToken = tokenTable([{ name: "orders", token: ORDERS }]);
  const helloWith = { kind: FrameKind.Hello, id: 0, body: { proto: PROTOCOL_NAME, v: PROTOCOL_VERSION, node: { id: "b", name: "b" }, services: [], maxFrame: 1024, token: ORDERS } };
  const accepted = (remoteAddress: string, secure = false) => new Handshake({ key: null, token: undefined, verifyToken }, "acceptor", "a", { secure, remoteAddress }).read(helloWith, () => {});
  assert.deepEqual(accepted("tcp://127.0.0.1:5000"), { type: "done", hello: { node: { id: "b", name: "b" }, services: [], nonce: undefined, token: ORDERS }, proven: { token: "orders" }, held: [] });
  assert.deepEqual(accepted("tcp://10.1.2.3:5000", true).type, "done");
  const exposed = accepted("tcp://10.1.2.3:5000");
  assert.equal(exposed.type, "refused");
  assert.match((exposed as { why: string }).why, /came unencrypted from another host/);

  for (const [secure, address, may] of [
    [false, "tcp://127.0.0.1:1", true],
    [false, "tcp://127.8.9.10:1", true],
    [false, "tcp://[::1]:1", true],
    [false, "tcp://localhost:1", true],
    [false, "unix:///tmp/a.sock", true],
    [false, "inproc://x", true],
    [false, "tcp://192.168.1.5:1", false],
    [false, "tcp://[fe80::1]:1", false],
    [false, "nats://127.0.0.1:4222/node-1", false],
    [true, "tcp://192.168.1.5:1", true],
  ] as const) {
    assert.equal(tokenMayTravel(secure, address), may, `${address}${secure ? " over TLS" : ""}`);
  }
});

test("over TLS with the cluster key besides: the caller proved both", async (t) => {
  if (!requireOrSkip(t, certs !== undefined, "TLS needs openssl to make certificates")) return;
  const key = "the cluster's key";
  const { node, callers } = await tokenServer(t, { tls: certs!.server, clusterKey: key });
  const peer = await connect(node.addresses[0]!, { tls: { ca: certs!.ca }, token: ORDERS, clusterKey: key, logger: quiet });
  t.after(() => peer.close());
  assert.equal(await peer.client(Calculator).add({ a: 1, b: 2 }), 3);
  assert.equal(callers[0]?.token, "orders");
  assert.equal(callers[0]?.provedClusterKey, true);
  // With the key and a token the node does not take: still refused.
  await assert.rejects(connect(node.addresses[0]!, { tls: { ca: certs!.ca }, token: newToken(), clusterKey: key, logger: quiet, connectTimeout: 3_000 }), failsWith("UNAUTHENTICATED"));
});

test("a record registered with a token belongs to it: another token, claiming the node's id in its HELLO, cannot replace or remove it", async (t) => {
  const calcToken = newToken();
  const strangerToken = newToken();
  const registry = await startNode({
    name: "registry",
    listen: "tcp://127.0.0.1:0",
    tokens: [
      { name: "calc", sha256: hashToken(calcToken) },
      { name: "stranger", sha256: hashToken(strangerToken) },
    ],
    logger: recordingLogger(),
  });
  const stop = serveRegistry(registry);
  t.after(async () => {
    stop();
    await registry.close({ timeout: 0 });
  });
  const address = registry.addresses[0]!;
  const real = await startNode({ name: "calc", cluster: "bound", listen: "tcp://127.0.0.1:0", registry: address, token: calcToken, logger: recordingLogger() });
  t.after(() => real.close({ timeout: 0 }));
  real.serve(Calculator, calculatorHandlers);
  const members = () => registry.client(RegistryContract).members({});
  const deadline = Date.now() + 10_000;
  while (!(await members()).some((m) => m.record.id === real.id)) {
    assert.ok(Date.now() < deadline, "the real node did not register within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const record = (await members()).find((m) => m.record.id === real.id)!.record;

  // The stranger's HELLO claims the real node's id: the id check passes, the owner check does not.
  const raw = await RawPeer.handshaken(address, { node: { id: real.id, name: "calc" }, token: strangerToken });
  t.after(() => raw.destroy());
  raw.sendCall(1, "amoeba.registry", "register", { record: { ...record, addresses: ["tcp://127.0.0.1:1"] }, ttl: 3_600_000 });
  raw.sendCall(3, "amoeba.registry", "deregister", { id: real.id });
  for (const id of [1, 3]) {
    const [code, message] = await raw.errorOf(id);
    assert.equal(code, Status.PERMISSION_DENIED, String(message));
    assert.match(String(message), /was registered by token:calc/);
  }
  const after = (await members()).find((m) => m.record.id === real.id)!;
  assert.equal(after.state, "alive");
  assert.deepEqual(after.record.addresses, record.addresses, "the record still sends callers to the real node");
});

test("a token table refuses malformed entries, naming them; a node refuses a token option that is no token", async () => {
  assert.throws(() => tokenTable([{ name: "", token: ORDERS }]), /tokens\[0\]\.name/);
  assert.throws(() => tokenTable([{ name: "a" }]), /tokens\[0\] \(a\): give exactly one of sha256 and token/);
  assert.throws(() => tokenTable([{ name: "a", token: ORDERS, sha256: hashToken(ORDERS) }]), /exactly one/);
  assert.throws(() => tokenTable([{ name: "a", sha256: "abc" }]), /tokens\[0\]\.sha256 \(a\): 64 hex digits/);
  assert.throws(() => tokenTable([{ name: "a", token: "short" }]), /tokens\[0\]\.token \(a\): a string of 16/);
  assert.throws(() => tokenTable([{ name: "a", token: ORDERS }, { name: "a", token: BILLING }]), /tokens\[1\]: the name a is given twice/);
  assert.throws(() => tokenTable([{ name: "a", token: ORDERS }, { name: "b", sha256: hashToken(ORDERS) }]), /tokens\[1\] \(b\): the same token as another entry/);
  const verify = tokenTable([{ name: "a", token: ORDERS }, { name: "b", sha256: hashToken(BILLING).toUpperCase() }]);
  assert.deepEqual([verify(ORDERS), verify(BILLING), verify(ORDERS + "x"), verify("")], ["a", "b", undefined, undefined]);
  await assert.rejects(startNode({ token: "too short", logger: quiet }), /token: a string of 16 to 4096 characters/);
});
