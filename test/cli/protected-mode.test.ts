// Protected mode from the command line: TLS is a credential. `amoeba serve`, `registry` and `gateway`
// listen on an address other than loopback with --tls-cert and --tls-key, and refuse it (exit 2) with no
// credentials. Each runs in a network namespace of its own, whose one address exists nowhere else.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { hasCommand, makeCerts } from "../conformance/helpers.ts";
import { inPrivateNamespace, PRIVATE_ADDRESS, privateNamespaceUnavailable } from "../support/private-namespace.ts";
import { requireOrSkip } from "../support/require.ts";
import { CliProcess, CONCURRENCY, isolateRendezvous, runCli, type Cleanup } from "./support.ts";

isolateRendezvous();

const certs = hasCommand("openssl") ? makeCerts() : undefined;
const unavailable = certs === undefined ? "the openssl CLI is needed to make test certificates" : privateNamespaceUnavailable();
const dir = mkdtempSync(join(tmpdir(), "amoeba-cli-protected-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const tls = (() => {
  if (certs === undefined) return [];
  const cert = join(dir, "node.crt");
  const key = join(dir, "node.key");
  writeFileSync(cert, certs.node.cert);
  writeFileSync(key, certs.node.key);
  return ["--tls-cert", cert, "--tls-key", key];
})();
const address = PRIVATE_ADDRESS.replace(/\./g, "\\.");

/** Starts `amoeba <args>` in a private namespace, waits for `ready`, then stops it with SIGTERM: it must exit 0. */
async function listensThenStops(args: string[], ready: RegExp, cleanup: Cleanup): Promise<string> {
  const cli = new CliProcess(args, cleanup, undefined, inPrivateNamespace());
  const line = (await cli.waitFor(ready))[0];
  cli.kill("SIGTERM");
  const finished = await cli.exited(20_000);
  assert.equal(finished.code, 0, finished.stderr);
  assert.doesNotMatch(finished.stderr, /INSECURE/);
  return line;
}

describe("protected mode: --tls-cert is a credential", { concurrency: CONCURRENCY, timeout: 120_000 }, () => {
  const commands: Array<[string, string[], RegExp]> = [
    ["serve", ["serve", "examples/calculator/service.ts", "--listen", `tcp://${PRIVATE_ADDRESS}:0`], new RegExp(`serving calculator@1\\.2\\.0 on tcp://${address}:\\d+\\n`)],
    ["registry", ["registry", "--listen", `tcp://${PRIVATE_ADDRESS}:0`], new RegExp(`registry \\S+ listening on tcp://${address}:\\d+\\n`)],
    ["gateway", ["gateway", "--join", "pm-a", "--join", "pm-b", "--host", PRIVATE_ADDRESS], new RegExp(`in cluster pm-b, gossip on udp://${address}:\\d+, calls on tcp://${address}:\\d+\\n`)],
  ];
  for (const [command, args, ready] of commands) {
    it(`${command} listens on ${PRIVATE_ADDRESS} with TLS, and refuses it without credentials: exit 2`, async (t) => {
      if (!requireOrSkip(t, unavailable === null, unavailable ?? "")) return;
      const cleanup = t.after.bind(t);
      await listensThenStops([...args, ...tls], ready, cleanup);
      const refused = await runCli(args, cleanup, 30_000, undefined, inPrivateNamespace());
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`refuses to listen on tcp://${address}:0: it has no credentials.*; or --insecure\\n`));
    });
  }
});
