// Conformance over TLS (server certificate only), with certificates made for this run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connect, startNode } from "../../src/index.ts";
import { requireOrSkip } from "../support/require.ts";
import { connectTls, socketFixture } from "./fixture.ts";
import { hasCommand, makeCerts, recordingLogger, type Certs } from "./helpers.ts";
import { runConformance } from "./suite.ts";

const openssl = hasCommand("openssl");
const certs: Certs | undefined = openssl ? makeCerts() : undefined;
const missing = openssl ? undefined : "the openssl CLI is needed to make test certificates";

runConformance(
  "tls",
  socketFixture(() => "tcp://127.0.0.1:0", {
    server: { cert: certs?.server.cert ?? "", key: certs?.server.key ?? "" },
    client: { ca: certs?.ca },
  }),
  { missing },
);

test("tls: a client that does not trust the server's CA cannot connect", async (t) => {
  if (!requireOrSkip(t, certs !== undefined, missing ?? "")) return;
  const server = await startNode({ name: "server", listen: "tcp://127.0.0.1:0", tls: certs!.server, logger: recordingLogger() });
  try {
    await assert.rejects(connect(server.addresses[0]!, { tls: connectTls({ ca: certs!.rogueCa }), logger: recordingLogger() }), /certificate|self.signed|verify/i);
    await assert.rejects(connect(server.addresses[0]!, { logger: recordingLogger(), connectTimeout: 2_000 }), "a plain-text client is not served");
    const good = await connect(server.addresses[0]!, { tls: connectTls({ ca: certs!.ca }), logger: recordingLogger() });
    assert.equal(good.remote.name, "server", "a client that trusts the CA gets through");
    await good.close();
  } finally {
    await server.close({ timeout: 1_000 });
  }
});
