// A gateway forwards 10,000 services of a far cluster (the route labels of 15 once crashed it; a HELLO
// listing 8,000 services once passed the frame limit before the handshake, and describing them one by one
// took minutes).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { manyServices } from "../lookup/many-services.ts";
import { waitFor, withTeardown } from "../rpc/support.ts";
import { clusterNames, gateway, lookup, useRendezvous } from "./fixture.ts";

let cleanRendezvous: () => Promise<void>;
before(async () => {
  cleanRendezvous = await useRendezvous();
});
after(() => cleanRendezvous());

const COUNT = Number(process.env.AMOEBA_FORWARDED_SERVICES ?? 10_000);

test(`a gateway forwards ${COUNT} services of a far cluster, and calls reach the last of them`, { timeout: 180_000 }, () =>
  withTeardown(async (td) => {
    const names = clusterNames();
    const far = await td.node({ name: "far-1", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
    const services = manyServices(COUNT, 3);
    for (const { contract, handlers } of services) far.serve(contract, handlers);
    const core = await td.node({ name: "core-1", cluster: names.core, lookup });
    const started = performance.now();
    const gw = await gateway(td, { name: "gw-many", join: { [names.core]: { seeds: [core.gossipAddress!] }, [names.regionB]: { seeds: [far.gossipAddress!] } } });
    await waitFor(() => gw.routes(names.core).length === COUNT, 150_000, `the gateway advertises all ${COUNT} routes`);
    const advertised = performance.now() - started;
    const forwarded = (): number =>
      core.members().find((m) => m.record.name === "gw-many")?.record.services.filter(([name]) => name.startsWith("inventory.")).length ?? 0;
    await waitFor(() => forwarded() === COUNT, 30_000, "core sees every route");
    const seen = performance.now() - started;
    assert.equal(core.lookup(services[COUNT - 1]!.contract).length, 1);
    const client = core.client(services[COUNT - 1]!.contract) as unknown as Record<string, (input: unknown, options?: object) => Promise<unknown>>;
    assert.equal(await client.method2!({}, { timeout: 10_000 }), `inventory.service-number-${COUNT - 1}`);
    console.log(`# a gateway forwarding ${COUNT} services: all advertised after ${advertised.toFixed(0)} ms, all seen in core after ${seen.toFixed(0)} ms`);
  }));
