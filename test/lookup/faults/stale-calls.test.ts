/**
 * Calls their callers gave up on never start: a client calls a server with a
 * 500 ms deadline while the server is stopped (SIGSTOP) or cut off by a
 * partition between test hosts; when it resumes (or the cut heals), the CALLs
 * and the CANCELs behind them arrive in one burst, or after a short cut in
 * TCP retransmissions, a CANCEL maybe a segment behind its CALL. No handler
 * may start for a call that already failed at its caller.
 *
 * The pause and the cut last 5 s here (CI time); AMOEBA_FAULT_SECONDS=20 runs
 * them for 20 s. Each prints its figures.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { requireOrSkip } from "../../support/require.ts";
import { sleep } from "./harness.ts";
import { TestNetwork, unavailableReason } from "./netns.ts";
import { startPeer, type HandlerStart, type PeerCall, type PeerChild } from "./peers.ts";

const reason = unavailableReason();
const FAULT_MS = Number(process.env.AMOEBA_FAULT_SECONDS ?? 5) * 1_000;

async function measure(t: TestContext, what: string, server: PeerChild, client: PeerChild, fault: () => Promise<void>): Promise<void> {
  const startsBefore = (await server.request<HandlerStart[]>({ cmd: "starts" })).length;
  await client.request({ cmd: "startCalls", intervalMs: 20, timeoutMs: 500, parallel: 4 });
  await sleep(500);
  await fault();
  // Long enough for every burst to be read and every handler that would start to start.
  await sleep(3_000);
  const calls = await client.request<PeerCall[]>({ cmd: "stopCalls" });
  await sleep(500);
  const starts = (await server.request<HandlerStart[]>({ cmd: "starts" })).slice(startsBefore);
  const gaveUp = new Map(calls.filter((c) => !c.ok).map((c) => [c.seq, c]));
  const stale = starts.filter((s) => {
    const call = gaveUp.get(s.seq);
    return call !== undefined && s.at >= call.end;
  });
  const codes = new Map<string, number>();
  for (const c of gaveUp.values()) codes.set(c.code ?? "?", (codes.get(c.code ?? "?") ?? 0) + 1);
  t.diagnostic(
    `${what}: calls ${calls.length}, given up by their callers ${gaveUp.size} (${[...codes].map(([code, n]) => `${code} ${n}`).join(", ")}); ` +
      `handlers started ${starts.length}, of them for calls their callers had given up on: ${stale.length}`,
  );
  assert.ok(gaveUp.size > 0, "the fault made callers give up on some calls");
  assert.ok(calls.some((c) => c.ok && c.at > Date.now() - 2_500), "calls succeed again after the fault");
  assert.deepEqual(
    stale.map((s) => `call ${s.seq} started ${s.at - gaveUp.get(s.seq)!.end} ms after its caller gave up (${gaveUp.get(s.seq)!.code}: ${gaveUp.get(s.seq)!.message}; it began ${gaveUp.get(s.seq)!.end - gaveUp.get(s.seq)!.at} ms before)`),
    [],
  );
}

test("a stopped server (SIGSTOP) never starts the calls its callers gave up on", async (t) => {
  const address = "tcp://127.0.0.1:0";
  const server = await startPeer(t, { name: "server", role: "server", address });
  const client = await startPeer(t, { name: "client", role: "client", address: server.address });
  await measure(t, `SIGSTOP of ${FAULT_MS / 1000} s`, server, client, async () => {
    server.child.kill("SIGSTOP");
    await sleep(FAULT_MS);
    server.child.kill("SIGCONT");
  });
});

for (const [what, ms] of [
  ["a partition", FAULT_MS],
  // Shorter than the keepalive takes to find a cut: the CALLs and CANCELs go out late, in TCP retransmissions,
  // a CANCEL maybe a segment behind its CALL. The CALL says when it was sent: it comes too late to start.
  ["a 1 s partition", 1_000],
] as const) {
  test(`a server cut off by ${what} never starts the calls its callers gave up on`, async (t) => {
    if (!requireOrSkip(t, reason === null, `partition tests need network namespaces: ${reason}`)) return;
    const net = new TestNetwork(t, ["a", "c"]);
    const address = `tcp://${net.host("a").ip}:7400`;
    const server = await startPeer(t, { name: "server", role: "server", address }, net.host("a").exec);
    const client = await startPeer(t, { name: "client", role: "client", address }, net.host("c").exec);
    await measure(t, `partition of ${ms / 1000} s`, server, client, async () => {
      net.partition(["a"], ["c"]);
      await sleep(ms);
      net.heal();
    });
  });
}
