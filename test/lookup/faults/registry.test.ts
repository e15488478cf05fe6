/**
 * Client-server look-up under faults, with real processes: neither a
 * registry restart, nor an outage longer than the TTL, nor the loss of one of
 * several registries removes a live server from a client's view, even for a
 * moment, and calls made all along do not fail. A member that truly stops
 * (kill -9) leaves once its TTL passes on a registry that is up, including
 * one that was restarted meanwhile.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { changesAbout, Fixture, sleep, waitFor, type CallResult, type Member } from "./harness.ts";

const TTL = 1_500;
const HEARTBEAT = TTL / 3;
/** For a loaded 2-core machine: a heartbeat or a sweep may run this late. */
const MARGIN = 1_000;

/** Whether `client`'s look-up lists exactly `servers`. */
async function finds(client: Member, servers: Member[]): Promise<boolean> {
  const ids = (await client.lookup()).map((i) => i.id).sort();
  return ids.length === servers.length && servers.every((s) => ids.includes(s.id));
}

async function startCluster(fixture: Fixture, registries: string, servers: number): Promise<{ servers: Member[]; client: Member }> {
  const common = { registry: registries, registryTtl: TTL };
  const started = await Promise.all([
    ...Array.from({ length: servers }, (_, i) => fixture.start({ name: `server-${i}`, ...common })),
    fixture.start({ name: "client", ...common, serveCalculator: false }),
  ]);
  const client = started.pop()!;
  await waitFor("the client to find every server through the registry", () => finds(client, started), 10_000);
  // The client's watch has seen every server (and no change is still on its way).
  await waitFor("the client's watch to have seen every server", async () => {
    const changes = await client.changes();
    return started.every((s) => changes.some((c) => c.id === s.id && c.type === "added"));
  }, 10_000);
  return { servers: started, client };
}

/**
 * Runs `fault` while the client calls the calculator every 10 ms and samples
 * its look-up every 20 ms; then for `settleMs` more. Returns, per server, the
 * longest time it was missing from the client's look-up (sampled), the
 * removals the client's watch saw (every change, not sampled), and the calls.
 */
async function measure(client: Member, servers: Member[], settleMs: number, fault: () => Promise<void>) {
  const from = Date.now();
  await client.request({ cmd: "startCalls", intervalMs: 10, timeoutMs: 2_000 });
  const missingSince = new Map<string, number>();
  const longest = new Map<string, number>(servers.map((s) => [s.id, 0]));
  let sampling = true;
  const sampler = (async () => {
    // Bounded by the fault and the settle time, and by a hard cap.
    const cap = Date.now() + 60_000;
    while (sampling && Date.now() < cap) {
      const ids = new Set((await client.lookup()).map((i) => i.id));
      const now = Date.now();
      for (const server of servers) {
        const since = missingSince.get(server.id);
        if (!ids.has(server.id)) {
          if (since === undefined) missingSince.set(server.id, now);
        } else if (since !== undefined) {
          longest.set(server.id, Math.max(longest.get(server.id)!, now - since));
          missingSince.delete(server.id);
        }
      }
      await sleep(20);
    }
  })();
  await fault();
  await sleep(settleMs);
  sampling = false;
  await sampler;
  const now = Date.now();
  for (const [id, since] of missingSince) longest.set(id, Math.max(longest.get(id)!, now - since));
  const calls = await client.request<CallResult[]>({ cmd: "stopCalls" });
  const changes = await client.changes();
  const removals = servers.flatMap((s) => changesAbout(changes, s.id, from).filter((c) => c.type === "removed"));
  const failed = calls.filter((c) => !c.ok);
  return { longest, removals, calls: calls.length, failed };
}

type Measured = Awaited<ReturnType<typeof measure>>;

function report(t: TestContext, what: string, servers: Member[], m: Measured): void {
  t.diagnostic(
    `${what}: longest time a live server was missing from the client's look-up: ` +
      `${servers.map((s) => `${s.name} ${m.longest.get(s.id)} ms`).join(", ")}; removals seen by the client's watch: ${m.removals.length}; ` +
      `calls ${m.calls}, failed ${m.failed.length}`,
  );
  assert.ok(m.calls > 20, `the client made calls all along (${m.calls})`);
  for (const server of servers) assert.equal(m.longest.get(server.id), 0, `${server.name} was missing from the client's look-up for ${m.longest.get(server.id)} ms`);
  assert.deepEqual(m.removals, [], "the client's watch saw no live server removed");
  assert.deepEqual(
    m.failed.map((c) => `${c.code}: ${c.message}`),
    [],
    "no call failed",
  );
}

test("one registry: restart, outage and kill -9 of a member", async (t) => {
  const fixture = new Fixture(t, "registry");
  let registry = await fixture.start({ name: "registry", cluster: null, registryServer: true });
  const address = registry.address;
  const { servers, client } = await startCluster(fixture, address, 3);
  const [s0, s1, s2] = servers as [Member, Member, Member];

  /** Crashes the registry and starts a fresh one (an empty table) at the same address after `downMs`. */
  const restart = async (downMs: number): Promise<{ downFor: number }> => {
    const next = await fixture.prepare({ name: "registry", cluster: null, registryServer: true, listen: address });
    const killedAt = Date.now();
    await registry.kill("SIGKILL");
    await sleep(downMs);
    registry = await next.go();
    return { downFor: Date.now() - killedAt };
  };

  await t.test("a registry restart (kill -9, a fresh empty table at once) hides no live server and fails no call", async (t) => {
    let downFor = 0;
    const m = await measure(client, servers, TTL + MARGIN, async () => {
      ({ downFor } = await restart(0));
    });
    report(t, `registry down ${downFor} ms, ttl ${TTL} ms`, servers, m);
    // The fresh registry knows them again: a client that starts now finds them at once.
    const late = await fixture.start({ name: "late-client", registry: address, registryTtl: TTL, serveCalculator: false });
    await waitFor("a new client to find every server", () => finds(late, servers), 2_000);
    await late.kill();
  });

  await t.test("a registry outage longer than the TTL hides no live server and fails no call", async (t) => {
    let downFor = 0;
    const m = await measure(client, servers, TTL + MARGIN, async () => {
      ({ downFor } = await restart(2 * TTL));
    });
    report(t, `registry down ${downFor} ms (ttl ${TTL} ms)`, servers, m);
  });

  await t.test("a member killed while the registry is down leaves once the restarted registry has been up a TTL", async (t) => {
    const next = await fixture.prepare({ name: "registry", cluster: null, registryServer: true, listen: address });
    await registry.kill("SIGKILL");
    await s2.kill("SIGKILL");
    await sleep(500);
    // Down: last known state, the killed member included (nothing says it is gone).
    assert.ok(await finds(client, servers), "while the registry is down, the client keeps its last known view");
    registry = await next.go();
    const back = Date.now();
    await waitFor("the client to drop the killed member", () => finds(client, [s0, s1]), TTL + 2 * MARGIN);
    const gone = Date.now() - back;
    t.diagnostic(`ttl ${TTL} ms: the member killed during the outage left the client's view ${gone} ms after the registry came back`);
    assert.ok(gone >= TTL - 300, `it left ${gone} ms after the registry came back, before a TTL could pass`);
  });

  await t.test("kill -9 of a registered member: it leaves the client's view after its TTL", async (t) => {
    const killedAt = Date.now();
    await s1.kill("SIGKILL");
    const took = await waitFor("the client's look-up to drop the killed member", () => finds(client, [s0]), TTL + MARGIN);
    const gone = Date.now() - killedAt;
    t.diagnostic(`ttl ${TTL} ms (heartbeat ${HEARTBEAT} ms): the killed member left the client's look-up ${gone} ms after the kill`);
    // Its last heartbeat was at most one interval before the kill, so its record
    // lives at least ttl − ttl/3 after it: leaving sooner would not be the TTL's doing.
    assert.ok(gone >= TTL - HEARTBEAT - 100, `the member left after ${gone} ms, before its TTL could run out`);
    assert.ok(took <= TTL + MARGIN);
    const entry = (await client.members()).find((m) => m.id === s1.id);
    assert.ok(!entry || entry.state === "dead" || entry.state === "left", `the client lists the killed member as gone (${entry?.state})`);
  });
});

test("three registries: losing one hides nothing, a new client fails over, a killed member still leaves", async (t) => {
  const fixture = new Fixture(t, "registries");
  const registries = await Promise.all([0, 1, 2].map((i) => fixture.start({ name: `registry-${i}`, cluster: null, registryServer: true })));
  const list = registries.map((r) => r.address).join(",");
  const { servers, client } = await startCluster(fixture, list, 2);
  const [s0, s1] = servers as [Member, Member];

  await t.test("kill -9 of one of three registries hides no live server and fails no call", async (t) => {
    const m = await measure(client, servers, TTL + MARGIN, () => registries[0]!.kill("SIGKILL"));
    report(t, `registry-0 of 3 killed, ttl ${TTL} ms`, servers, m);
  });

  await t.test("a client that starts with that registry down finds every server through the others", async () => {
    const late = await fixture.start({ name: "late-client", registry: list, registryTtl: TTL, serveCalculator: false });
    await waitFor("a new client to find every server", () => finds(late, servers), 3_000);
    const calls = await late.request<CallResult[]>({ cmd: "call", count: 20, intervalMs: 5, timeoutMs: 2_000 });
    assert.deepEqual(calls.filter((c) => !c.ok), []);
    await late.kill();
  });

  await t.test("kill -9 of a member: it leaves after its TTL, by the registries still up", async (t) => {
    const killedAt = Date.now();
    await s1.kill("SIGKILL");
    await waitFor("the client's look-up to drop the killed member", () => finds(client, [s0]), TTL + MARGIN);
    const gone = Date.now() - killedAt;
    t.diagnostic(`ttl ${TTL} ms, 2 of 3 registries up: the killed member left the client's look-up ${gone} ms after the kill`);
    assert.ok(gone >= TTL - HEARTBEAT - 100, `the member left after ${gone} ms, before its TTL could run out`);
  });
});
