// Conformance over mutual TLS: the server requires a client certificate from its CA.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { connect, contract, RpcError, startNode, unary } from "../../src/index.ts";
import { requireOrSkip } from "../support/require.ts";
import { connectTls, socketFixture } from "./fixture.ts";
import { hasCommand, makeCerts, recordingLogger, type Certs } from "./helpers.ts";
import { runConformance } from "./suite.ts";

const openssl = hasCommand("openssl");
const certs: Certs | undefined = openssl ? makeCerts() : undefined;
const missing = openssl ? undefined : "the openssl CLI is needed to make test certificates";

runConformance(
  "mutual tls",
  socketFixture(() => "tcp://127.0.0.1:0", {
    server: { cert: certs?.server.cert ?? "", key: certs?.server.key ?? "", ca: certs?.ca },
    client: { ca: certs?.ca, cert: certs?.client.cert, key: certs?.client.key },
  }),
  { missing },
);

const Hello = contract("mtls.hello", "1.0.0", {
  hello: unary({ input: z.object({}), output: z.string() }),
});

test("mutual tls: a client without a certificate, or with one from another CA, is refused", async (t) => {
  if (!requireOrSkip(t, certs !== undefined, missing ?? "")) return;
  const server = await startNode({
    name: "server",
    listen: "tcp://127.0.0.1:0",
    tls: { ...certs!.server, ca: certs!.ca },
    logger: recordingLogger(),
  });
  let ran = 0;
  server.serve(Hello, {
    hello: () => {
      ran++;
      return "hello";
    },
  });
  const address = server.addresses[0]!;
  try {
    // With TLS 1.3 the client may finish its handshake before the server checks its certificate,
    // so the refusal can surface at connect() or at the first call; either way no call is served.
    const attempt = async (tls: { ca: string; cert?: string; key?: string }) => {
      const peer = await connect(address, { tls: connectTls(tls), logger: recordingLogger(), connectTimeout: 2_000 });
      try {
        await peer.client(Hello).hello({}, { timeout: 2_000 });
      } finally {
        await peer.close();
      }
    };
    // The server refused: the TLS alert says why (certificate required) or the connection ended in
    // the handshake; a client that refused the server's certificate would say "verify" instead.
    await assert.rejects(attempt({ ca: certs!.ca }), (e: RpcError) => {
      assert.equal(e.code, "UNAVAILABLE", e.message);
      assert.equal(e.unprocessed, true);
      assert.match(e.message, /certificate required|alert number 116/, "no client certificate: the server asked for one");
      return true;
    });
    await assert.rejects(attempt({ ca: certs!.ca, ...certs!.rogueClient }), (e: RpcError) => {
      assert.equal(e.code, "UNAVAILABLE", e.message);
      assert.equal(e.unprocessed, true);
      assert.match(e.message, /handshake|unknown ca|alert/, "a certificate from another CA: refused in the handshake");
      assert.doesNotMatch(e.message, /verify|self[- ]signed/, "the client did not refuse the server");
      return true;
    });
    assert.equal(ran, 0, "no refused client reached a handler");
    const good = await connect(address, { tls: connectTls({ ca: certs!.ca, ...certs!.client }), logger: recordingLogger() });
    try {
      assert.equal(await good.client(Hello).hello({}), "hello", "a client with a certificate from the CA is served");
    } finally {
      await good.close();
    }
    assert.equal(ran, 1);
  } finally {
    await server.close({ timeout: 1_000 });
  }
});

test("mutual tls: every stage of the server's chain knows the caller by its verified certificate", async (t) => {
  if (!requireOrSkip(t, certs !== undefined, missing ?? "")) return;
  const seen: Array<{ subject: string | undefined; issuer: string | undefined; fingerprint: number }> = [];
  const server = await startNode({
    name: "server",
    listen: "tcp://127.0.0.1:0",
    tls: { ...certs!.server, ca: certs!.ca },
    logger: recordingLogger(),
    interceptors: {
      server: [
        (next) => (input, ctx) => {
          const cert = ctx.caller.certificate;
          seen.push({ subject: cert?.subject, issuer: cert?.issuer, fingerprint: cert?.fingerprint256.split(":").length ?? 0 });
          if (cert?.subject !== "amoeba-client") throw new RpcError("PERMISSION_DENIED", "only amoeba-client may call");
          return next(input, ctx);
        },
      ],
    },
  });
  server.serve(Hello, { hello: (_input, ctx) => `hello ${ctx.caller.certificate?.subject ?? "nobody"}` });
  const peer = await connect(server.addresses[0]!, { tls: connectTls({ ca: certs!.ca, ...certs!.client }), logger: recordingLogger() });
  try {
    assert.equal(await peer.client(Hello).hello({}), "hello amoeba-client", "the handler sees the certificate too");
    assert.deepEqual(seen, [{ subject: "amoeba-client", issuer: "Amoeba Test CA", fingerprint: 32 }]);
    // The caller's side knows the server by its certificate as well.
    assert.equal(peer.remote.certificate?.subject, "localhost");
    assert.ok(peer.remote.certificate?.altNames.includes("IP Address:127.0.0.1"), JSON.stringify(peer.remote.certificate?.altNames));
  } finally {
    await peer.close();
    await server.close({ timeout: 500 });
  }
});
