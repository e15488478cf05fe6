import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Calculator, handlers } from "../../examples/calculator/service.ts";
import { RpcError, startNode, type MembershipEvent } from "../../src/index.ts";
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/config.ts";
import { hasCommand, makeCerts, recordingLogger, type Certs } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";

let rendezvous = "";
before(async () => {
  rendezvous = await mkdtemp(join(tmpdir(), "amoeba-tls-lookup-test-"));
  process.env.AMOEBA_RENDEZVOUS_DIR = rendezvous;
});
after(() => rm(rendezvous, { recursive: true, force: true }));

const lookup = { membership: FAST_MEMBERSHIP_CONFIG };
const openssl = hasCommand("openssl");
const certs: Certs | undefined = openssl ? makeCerts() : undefined;

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("nodes found by look-up are dialed with clientTls (mutual TLS); a node without it cannot call them", async (t) => {
  if (!requireOrSkip(t, certs !== undefined, "the openssl CLI is needed to make test certificates")) return;
  const cluster = `tls-lookup-${process.pid}`;
  const server = await startNode({
    name: "tls-server",
    cluster,
    listen: "tcp://127.0.0.1:0",
    tls: { ...certs!.server, ca: certs!.ca },
    lookup,
    logger: recordingLogger(),
  });
  t.after(() => server.close({ timeout: 1_000 }));
  server.serve(Calculator, handlers);
  const caller = await startNode({ name: "tls-caller", cluster, clientTls: { ca: certs!.ca, ...certs!.client }, lookup, logger: recordingLogger() });
  t.after(() => caller.close({ timeout: 1_000 }));
  const plain = await startNode({ name: "plain-caller", cluster, lookup, logger: recordingLogger() });
  t.after(() => plain.close({ timeout: 1_000 }));
  await until("the server in the TLS caller's look-up, and as a member in the plain one's", () =>
    caller.lookup(Calculator).length === 1 && plain.members().some((m) => m.record.name === "tls-server" && m.state === "alive"),
  );
  // The plain caller cannot fetch the server's catalog (it speaks no TLS the server accepts): it knows no instance to call.

  assert.equal(await caller.client(Calculator).add({ a: 2, b: 3 }), 5);
  await assert.rejects(plain.client(Calculator, { balance: { retries: 0 } }).add({ a: 2, b: 3 }, { timeout: 3_000 }), (error: RpcError) => error.code === "UNAVAILABLE");
});

test("onMembership reports members joining and leaving", async (t) => {
  const cluster = `membership-events-${process.pid}`;
  const first = await startNode({ name: "first", cluster, lookup, logger: recordingLogger() });
  t.after(() => first.close({ timeout: 1_000 }));
  const events: MembershipEvent[] = [];
  const stop = first.onMembership((event) => events.push(event));
  const second = await startNode({ name: "second", cluster, lookup, logger: recordingLogger() });
  await until("second's join", () => events.some((e) => e.type === "join" && e.member.record.name === "second"));
  await second.close({ timeout: 1_000 });
  await until("second's leave", () => events.some((e) => e.type === "left" && e.member.record.name === "second"));
  stop();
  const seen = events.length;
  const third = await startNode({ name: "third", cluster, lookup, logger: recordingLogger() });
  t.after(() => third.close({ timeout: 1_000 }));
  await until("third in the view", () => first.members().some((m) => m.record.name === "third"));
  assert.equal(events.length, seen, "no event after stop()");
  const loner = await startNode({ name: "loner", logger: recordingLogger() });
  t.after(() => loner.close({ timeout: 0 }));
  assert.throws(() => loner.onMembership(() => {}), /joined no look-up/);
});
