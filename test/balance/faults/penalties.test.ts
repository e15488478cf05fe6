/**
 * Deterministic reproductions of what the process tests of this folder see
 * under faults, without processes or clocks: how long the balancer keeps away
 * from an instance after it failed calls, and whether a busy instance is
 * treated as a broken one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pickP2C } from "../../../src/balance/pickers.ts";
import { Target } from "../../../src/balance/target.ts";
import { RpcError } from "../../../src/index.ts";
import { withTeardown } from "../../rpc/support.ts";
import { Probe, probeInstance } from "../fixture.ts";

function target(id: string): Target {
  return new Target({ id, name: id, address: `tcp://127.0.0.1/${id}`, tier: 2, suspect: false, invoke: () => Promise.resolve(id) });
}

/**
 * Two instances answering in 10 ms; one fails `failures` calls (an outage),
 * then answers in 10 ms again. Returns how long (virtual ms) p2c keeps every
 * call away from it afterwards, up to `limitMs`.
 */
function timeAway(failures: number, limitMs: number): number {
  const healthy = target("healthy");
  const recovered = target("recovered");
  let now = 1_000;
  for (let i = 0; i < 100; i++, now += 10) {
    for (const each of [healthy, recovered]) {
      each.begin();
      each.end(true, 10, now);
    }
  }
  for (let i = 0; i < failures; i++, now += 10) {
    recovered.begin();
    recovered.end(false, 2, now);
  }
  const since = now;
  for (; now - since < limitMs; now += 10) {
    // With two candidates p2c compares both: the draw does not matter.
    const chosen = pickP2C([healthy, recovered], () => 0, now)!;
    chosen.begin();
    chosen.end(true, 10, now);
    if (chosen === recovered) return now - since;
  }
  return Infinity;
}

test("after an outage, a recovered instance is back in p2c's rotation within a bounded time, however many calls it failed", () => {
  // One failure makes it cost 100 ms against 10 ms answers: about 23 s of the
  // estimate's 10 s fade. The time away must not grow with every further failure.
  const limit = 30_000;
  const away = [1, 5, 20].map((failures) => ({ failures, ms: timeAway(failures, 120_000) }));
  const text = away.map(({ failures, ms }) => `${failures} failures → ${Number.isFinite(ms) ? `${(ms / 1_000).toFixed(1)} s` : "over 120 s"}`).join(", ");
  for (const { failures, ms } of away) assert.ok(ms <= limit, `kept away for ${failures} failures longer than ${limit / 1_000} s: ${text}`);
});

test("a server refusing calls for its concurrency limit is busy, not broken: it is not ejected", () =>
  withTeardown(async (td) => {
    const servers = [];
    for (const name of ["s0", "s1"]) {
      const server = await td.node({ name, listen: "tcp://127.0.0.1:0", concurrency: 1 });
      server.serve(Probe, probeInstance(name, { delayMs: 200, failShare: 0 }).handlers);
      servers.push(server);
    }
    const caller = await td.node({ name: "caller" });
    for (const server of servers) await caller.connect(server.addresses[0]!);
    const client = caller.client(Probe, { balance: { retries: 0 } });
    // Twelve at once against two slots: ten refusals, five or more per server.
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => client.who({ key: `k${i}` })));
    const refused = results.filter((r) => r.status === "rejected" && r.reason instanceof RpcError && r.reason.code === "RESOURCE_EXHAUSTED" && r.reason.unprocessed);
    assert.equal(refused.length, 10, "the servers shed what they could not run");
    const instances = caller.stats().services.flatMap((s) => s.instances);
    const view = instances.map((i) => `${i.node}: ${i.state}, ewma ${i.ewmaMs} ms`).join("; ");
    for (const instance of instances) assert.equal(instance.state, "healthy", `a shedding server was ejected: ${view}`);
  }));
