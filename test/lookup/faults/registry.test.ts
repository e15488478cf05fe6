/**
 * Client-server look-up under faults: a registry restart loses no
 * registration for longer than one heartbeat interval (ttl/3), and a member
 * killed with -9 leaves the registry's view once its TTL runs out.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Fixture, sleep, waitFor, type Member } from "./harness.ts";

const TTL = 1_500;
const HEARTBEAT = TTL / 3;
/** For a loaded 2-core machine: a heartbeat or a sweep may run this late. */
const MARGIN = 1_000;

interface Started {
  registry: Member;
  servers: Member[];
  client: Member;
}

async function startRegistryCluster(fixture: Fixture): Promise<Started> {
  const registry = await fixture.start({ name: "registry", cluster: null, registryServer: true });
  const common = { registry: registry.address, registryTtl: TTL };
  const [s0, s1, client] = await Promise.all([
    fixture.start({ name: "server-0", ...common }),
    fixture.start({ name: "server-1", ...common }),
    fixture.start({ name: "client", ...common, serveCalculator: false }),
  ]);
  const servers = [s0!, s1!];
  await waitFor("the client to find both servers through the registry", () => finds(client!, servers), 10_000);
  return { registry, servers, client: client! };
}

/** Whether `client`'s look-up lists exactly `servers`. */
async function finds(client: Member, servers: Member[]): Promise<boolean> {
  const ids = (await client.lookup()).map((i) => i.id).sort();
  return ids.length === servers.length && servers.every((s) => ids.includes(s.id));
}

// One set of processes for both cases (process start-up is the slow part of these tests).
test("client-server look-up under faults", async (t) => {
  const fixture = new Fixture(t, "registry");
  const started = await startRegistryCluster(fixture);
  await t.test("a registry restart loses no registration for longer than one heartbeat interval", (t) => registryRestart(t, fixture, started));
  await t.test("kill -9 of a registered member: it leaves the registry's view after its TTL", (t) => ttlExpiry(t, started));
});

async function registryRestart(t: TestContext, fixture: Fixture, { registry, servers, client }: Started): Promise<void> {
  // A crash and an immediate restart at the same address, with an empty table.
  const next = await fixture.prepare({ name: "registry", cluster: null, registryServer: true, listen: registry.address });
  const killedAt = Date.now();
  await registry.kill("SIGKILL");
  await next.go();
  const restartedAt = Date.now();

  // Sample the client's look-up: how long was each server missing from it?
  const missingSince = new Map<string, number>();
  const longestGap = new Map<string, number>(servers.map((s) => [s.id, 0]));
  let allBackAt = 0;
  const until = restartedAt + HEARTBEAT + MARGIN + 1_000;
  while (Date.now() < until) {
    const ids = new Set((await client.lookup()).map((i) => i.id));
    const now = Date.now();
    for (const server of servers) {
      if (!ids.has(server.id)) {
        if (!missingSince.has(server.id)) missingSince.set(server.id, now);
      } else if (missingSince.has(server.id)) {
        longestGap.set(server.id, Math.max(longestGap.get(server.id)!, now - missingSince.get(server.id)!));
        missingSince.delete(server.id);
      }
    }
    if (servers.every((s) => ids.has(s.id)) && allBackAt === 0 && now > restartedAt) allBackAt = now;
    await sleep(20);
  }
  const now = Date.now();
  for (const [id, since] of missingSince) longestGap.set(id, Math.max(longestGap.get(id)!, now - since));

  t.diagnostic(
    `registry down ${restartedAt - killedAt} ms; heartbeat ${HEARTBEAT} ms; longest time a server was missing from the client's look-up: ` +
      `${servers.map((s) => `${s.name} ${longestGap.get(s.id)} ms`).join(", ")}`,
  );
  for (const server of servers) {
    const gap = longestGap.get(server.id)!;
    assert.ok(gap <= HEARTBEAT + MARGIN, `${server.name} was missing from the client's look-up for ${gap} ms, over ttl/3 (${HEARTBEAT} ms) + ${MARGIN} ms`);
  }
  assert.ok(await finds(client, servers), "the client finds both servers after the restart");
  // The new registry knows them too: a client that starts now finds them at once.
  const late = await fixture.start({ name: "late-client", registry: registry.address, registryTtl: TTL, serveCalculator: false });
  await waitFor("a new client to find both servers", () => finds(late, servers), 2_000);
}

async function ttlExpiry(t: TestContext, { servers, client }: Started): Promise<void> {
  const [survivor, victim] = servers as [Member, Member];

  const killedAt = Date.now();
  await victim.kill("SIGKILL");
  const took = await waitFor("the client's look-up to drop the killed member", async () => finds(client, [survivor]), TTL + MARGIN);
  const gone = Date.now() - killedAt;
  t.diagnostic(`ttl ${TTL} ms (heartbeat ${HEARTBEAT} ms): the killed member left the client's look-up ${gone} ms after the kill`);
  // Its last heartbeat was at most one interval before the kill, so its record
  // lives at least ttl − ttl/3 after it: leaving sooner would not be the TTL's doing.
  assert.ok(gone >= TTL - HEARTBEAT - 100, `the member left after ${gone} ms, before its TTL could run out`);
  assert.ok(took <= TTL + MARGIN);
  const view = await client.members();
  const entry = view.find((m) => m.id === victim.id);
  assert.ok(!entry || entry.state === "dead" || entry.state === "left", `the client lists the killed member as gone (${entry?.state})`);
}
