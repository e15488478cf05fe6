// Authorization: once a node has a policy, only what a rule allows is served — Amoeba's own services
// included; a caller with no verified identity is UNAUTHENTICATED even for methods that do not exist,
// a known one PERMISSION_DENIED; callers are known by their certificate over mutual TLS.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { connect, contract, ReflectionContract, RpcError, startNode, unary, type AuthorizationPolicy } from "../../src/index.ts";
import { hasCommand, makeCerts, recordingLogger } from "../conformance/helpers.ts";
import { connectTls } from "../conformance/fixture.ts";
import { requireOrSkip } from "../support/require.ts";

const Calc = contract("auth.calc", "1.0.0", {
  add: unary({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }),
  reset: unary({ input: z.object({}), output: z.null() }),
});
const handlers = { add: ({ a, b }: { a: number; b: number }) => a + b, reset: () => null };

const openssl = hasCommand("openssl");
const certs = openssl ? makeCerts() : undefined;

function code(expected: string) {
  return (error: unknown) => {
    assert.ok(error instanceof RpcError, String(error));
    assert.equal(error.code, expected, error.message);
    assert.equal(error.unprocessed, true);
    return true;
  };
}

test("a caller with no verified identity gets UNAUTHENTICATED for everything a rule does not open to anyone, existing or not", async (t) => {
  const policy: AuthorizationPolicy = { rules: [{ callers: ["*"], methods: ["auth.calc.add"] }] };
  const server = await startNode({ name: "guarded", listen: "tcp://127.0.0.1:0", logger: recordingLogger(), authorization: policy });
  t.after(() => server.close({ timeout: 500 }));
  let resets = 0;
  server.serve(Calc, { ...handlers, reset: () => (resets++, null) });
  const peer = await connect(server.addresses[0]!, { logger: recordingLogger() });
  t.after(() => peer.close());
  assert.equal(await peer.client(Calc).add({ a: 1, b: 2 }), 3, "open to anyone");
  await assert.rejects(peer.client(Calc).reset({}), code("UNAUTHENTICATED"));
  assert.equal(resets, 0);
  const Ghost = contract("auth.ghost", "1.0.0", { boo: unary({ input: z.object({}), output: z.null() }) });
  await assert.rejects(peer.client(Ghost).boo({}), code("UNAUTHENTICATED"), "not NOT_FOUND: a stranger learns nothing of what exists");
  await assert.rejects(peer.client(ReflectionContract).describe({}), code("UNAUTHENTICATED"), "Amoeba's own services are covered");
  // The node's own in-process calls are `self`: no rule allows `self` to reset either.
  await assert.rejects(server.client(Calc).reset({}), code("PERMISSION_DENIED"));
});

test("mutual tls: rules by certificate decide, deny rules refuse, and nothing else passes", async (t) => {
  if (!requireOrSkip(t, certs !== undefined, "the openssl CLI is needed to make test certificates")) return;
  const policy: AuthorizationPolicy = {
    rules: [
      { callers: ["cert:amoeba-client"], methods: ["auth.calc.reset"], deny: true },
      { callers: ["cert:amoeba-client"], methods: ["auth.calc.*", "amoeba.reflect.*"] },
    ],
  };
  const server = await startNode({
    name: "guarded",
    listen: "tcp://127.0.0.1:0",
    tls: { ...certs!.server, ca: certs!.ca },
    logger: recordingLogger(),
    authorization: policy,
  });
  t.after(() => server.close({ timeout: 500 }));
  server.serve(Calc, handlers);
  const peer = await connect(server.addresses[0]!, { tls: connectTls({ ca: certs!.ca, ...certs!.client }), logger: recordingLogger() });
  t.after(() => peer.close());
  assert.equal(await peer.client(Calc).add({ a: 2, b: 3 }), 5);
  assert.ok((await peer.client(ReflectionContract).describe({})).some((s) => s.name === "auth.calc"));
  await assert.rejects(peer.client(Calc).reset({}), (error: unknown) => code("PERMISSION_DENIED")(error) && /cert:amoeba-client may not call it; a rule refuses it/.test((error as Error).message));
  const Ghost = contract("auth.ghost", "1.0.0", { boo: unary({ input: z.object({}), output: z.null() }) });
  await assert.rejects(peer.client(Ghost).boo({}), code("NOT_FOUND"), "a known caller learns what does not exist");
});

test("a malformed policy is refused when the node starts", async () => {
  await assert.rejects(startNode({ authorization: {} as never, logger: recordingLogger() }), /authorization must be \{ rules/);
  await assert.rejects(startNode({ authorization: { rules: [{ callers: [], methods: ["*"] }] }, logger: recordingLogger() }), /rules\[0\] needs callers and methods/);
});
