// Three clusters on one machine, every gateway and the service a real process:
// lan-a ← gw-ac → core ← gw-cb1, gw-cb2 → region-b, where only region-b serves the calculator.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Calculator } from "../../examples/calculator/contract.ts";
import { GatewayContract } from "../../src/index.ts";
import { isolateRendezvous, startMember } from "../cli/support.ts";
import { rejection, waitFor, within, withTeardown } from "../rpc/support.ts";
import { clusterNames, lookup, startGatewayProcess } from "./fixture.ts";

isolateRendezvous();

test("a call from lan-a crosses two gateway hops to region-b; its deadline and cancellation cross too; killing one of two parallel gateways under load loses no idempotent call", { timeout: 180_000 }, (t) =>
  withTeardown(async (td) => {
    const cleanup = t.after.bind(t);
    const names = clusterNames();
    const calc = await startMember(["examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--cluster", names.regionB, "--name", "calc-b"], cleanup);
    const core = await td.node({ name: "core-1", cluster: names.core, lookup });
    const caller = await td.node({ name: "caller-a", cluster: names.lanA, lookup });
    const ac = await startGatewayProcess("gw-ac", { [names.lanA]: caller.gossipAddress!, [names.core]: core.gossipAddress! }, cleanup);
    const cb1 = await startGatewayProcess("gw-cb1", { [names.core]: core.gossipAddress!, [names.regionB]: calc.gossip! }, cleanup);
    await startGatewayProcess("gw-cb2", { [names.core]: core.gossipAddress!, [names.regionB]: calc.gossip! }, cleanup);

    await waitFor(() => core.lookup(Calculator).length === 2, 60_000, "core learns both routes to region-b");
    await waitFor(() => caller.lookup(Calculator).length === 1, 60_000, "lan-a learns the route through gw-ac");
    const client = caller.client(Calculator);
    assert.equal(await client.add({ a: 2, b: 3 }, { timeout: 10_000 }), 5);
    await ac.process.waitFor(new RegExp(`routes into ${names.lanA}: calculator@1\\.2\\.0 \\(cost 2 via ${names.core} > ${names.regionB}\\)`), 30_000);

    // The deadline crosses both hops: the far handler is stopped by it, and the caller hears of it in time.
    const started = Date.now();
    const expired = await rejection(client.sleep({ ms: 20_000 }, { timeout: 500 }));
    assert.equal(expired.code, "DEADLINE_EXCEEDED");
    assert.ok(Date.now() - started < 10_000, "the caller is not held past its deadline");
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300).unref();
    assert.equal((await rejection(client.sleep({ ms: 20_000 }, { signal: abort.signal, timeout: 30_000 }))).code, "CANCELLED");

    // Bounded load: 4 callers, 600 calls in all, at most 90 s; gw-cb1 is killed a quarter of the way in.
    const total = 600;
    let issued = 0;
    let succeeded = 0;
    const failures: string[] = [];
    const stopAt = Date.now() + 90_000;
    let killed = false;
    const worker = async (): Promise<void> => {
      while (issued < total && Date.now() < stopAt) {
        const i = issued++;
        try {
          assert.equal(await client.add({ a: i, b: 1 }, { timeout: 15_000 }), i + 1);
          succeeded++;
        } catch (error) {
          failures.push(`${(error as Error).message}`);
        }
        if (!killed && succeeded >= total / 4) {
          killed = true;
          // Both parallel gateways carried calls before one dies.
          const stats = await (await td.connect(ac.addresses[names.core]!)).client(GatewayContract).stats({}, { timeout: 5_000 });
          const calls = Object.fromEntries(stats.find((s) => s.service === "calculator")!.instances.map((each) => [each.node, each.calls]));
          assert.ok(calls["gw-cb1"]! > 0 && calls["gw-cb2"]! > 0, `both gateways share the load: ${JSON.stringify(calls)}`);
          cb1.process.child.kill("SIGKILL");
        }
      }
    };
    await within(Promise.all([worker(), worker(), worker(), worker()]), 120_000, "the bounded load ends");
    assert.ok(killed, "gw-cb1 was killed during the load");
    assert.deepEqual(failures, [], "no idempotent call is lost");
    assert.equal(succeeded, total);
    await waitFor(() => core.lookup(Calculator).length === 1, 60_000, "the dead gateway's route leaves core");
  }));
