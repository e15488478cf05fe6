/**
 * Keepalive between test hosts (network namespaces, nftables): a client
 * calling a server on another host through one connection. A one-way drop
 * (the server's packets lost on their way to the client: a half-open
 * connection, with small calls and with calls made after it that overfill
 * the client's send buffer) and a two-way cut are each found by the client's keepalive
 * within a few seconds, and once healed, calls succeed again within about a
 * second, on a fresh connection.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { DEFAULT_LIMITS } from "../../../src/rpc/limits.ts";
import { requireOrSkip } from "../../support/require.ts";
import { sleep } from "./harness.ts";
import { TestNetwork, unavailableReason } from "./netns.ts";
import { startPeer, type PeerCall, type PeerChild } from "./peers.ts";

const reason = unavailableReason();
const { keepaliveInterval, keepaliveTimeout } = DEFAULT_LIMITS;
/** For a loaded 2-core machine; the figures are printed. */
const MARGIN = 1_500;
const CALL_TIMEOUT_MS = 5_000;

/** How many calls failed with each message (digits folded), for the diagnostic. */
function failures(calls: PeerCall[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls.filter((c) => !c.ok)) {
    const key = `${call.code}: ${(call.message ?? "").replace(/\d+/g, "N").slice(0, 120)}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

async function fault(t: TestContext, what: string, net: TestNetwork, client: PeerChild, cut: () => void, burstBytes = 0): Promise<void> {
  // Deadlines past the keepalive's verdict: the calls in flight at the cut are the ones it fails, whatever
  // the timers of a loaded machine do (with short ones, a verdict between two calls named no call).
  await client.request({ cmd: "startCalls", intervalMs: 20, timeoutMs: CALL_TIMEOUT_MS, parallel: 2 });
  await sleep(1_000);
  const cutAt = Date.now();
  cut();
  // Three calls of that size right after the cut: more than the send buffer holds (4 MiB at most).
  if (burstBytes > 0) await client.request({ cmd: "burst", count: 3, padBytes: burstBytes, timeoutMs: CALL_TIMEOUT_MS });
  await sleep(6_000);
  const healAt = Date.now();
  net.heal();
  await sleep(4_000);
  const calls = await client.request<PeerCall[]>({ cmd: "stopCalls" });
  const before = calls.filter((c) => c.end < cutAt);
  const dead = calls.find((c) => !c.ok && /keepalive/.test(c.message ?? ""));
  const back = calls.filter((c) => c.ok && c.end > healAt).sort((x, y) => x.end - y.end)[0];
  const detected = dead ? dead.end - cutAt : Infinity;
  const recovered = back ? back.end - healAt : Infinity;
  t.diagnostic(
    `${what}: keepalive ${keepaliveInterval}/${keepaliveTimeout} ms; connection declared dead ${detected} ms after the cut; ` +
      `first call answered ${recovered} ms after the heal; calls ${calls.length}, failed ${calls.filter((c) => !c.ok).length} ` +
      JSON.stringify(failures(calls)),
  );
  assert.ok(before.length > 0 && before.every((c) => c.ok), "calls succeeded before the cut");
  assert.ok(detected <= keepaliveInterval + keepaliveTimeout + MARGIN, `the dead connection was found ${detected} ms after the cut`);
  assert.ok(recovered <= 1_000 + MARGIN, `calls were answered again ${recovered} ms after the heal`);
  const after = calls.filter((c) => c.at > healAt + 2_000);
  assert.ok(after.length > 0 && after.every((c) => c.ok), "every call made 2 s after the heal succeeded");
}

test("keepalive finds a dead connection, and calls move to a fresh one after the heal", async (t) => {
  if (!requireOrSkip(t, reason === null, `keepalive tests need network namespaces: ${reason}`)) return;
  const net = new TestNetwork(t, ["a", "c"]);
  const address = `tcp://${net.host("a").ip}:7400`;
  await startPeer(t, { name: "server", role: "server", address }, net.host("a").exec);
  const client = await startPeer(t, { name: "client", role: "client", address }, net.host("c").exec);
  await t.test("a one-way drop (a half-open connection)", (t) => fault(t, "server → client dropped", net, client, () => net.drop("a", "c")));
  // Calls of 3 MiB made after the drop overfill the client's send buffer: the kernel takes nothing more
  // (nothing is acknowledged), which must read as silence, not as a peer alive and slow.
  await t.test("a one-way drop while calls fill the send buffer", (t) =>
    fault(t, "server → client dropped, 3 MiB calls", net, client, () => net.drop("a", "c"), 3 * 1024 * 1024),
  );
  await t.test("a two-way cut", (t) => fault(t, "cut both ways", net, client, () => net.partition(["a"], ["c"])));
});
