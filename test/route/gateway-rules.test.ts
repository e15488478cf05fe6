// Route rules set on a gateway (`startGateway({ routes })`) steer the calls it forwards; the same gateway without them does not.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { waitFor, withTeardown } from "../rpc/support.ts";
import { clusterNames, gateway, lookup, Regional, regional, useRendezvous } from "./fixture.ts";

let cleanRendezvous: () => Promise<void>;
before(async () => {
  cleanRendezvous = await useRendezvous();
});
after(() => cleanRendezvous());

test("a gateway's pin rule sends every call it forwards to the pinned cluster; without the rule, calls reach core too", () =>
  withTeardown(async (td) => {
    const names = clusterNames();
    const lanC = `${names.lanA}-c`;
    const inCore = await td.node({ name: "core-svc", cluster: names.core, listen: "tcp://127.0.0.1:0", lookup });
    inCore.serve(Regional, regional("core-svc"));
    const inRegion = await td.node({ name: "region-svc", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
    inRegion.serve(Regional, regional("region-svc"));
    const pinnedCaller = await td.node({ name: "caller-a", cluster: names.lanA, lookup });
    const plainCaller = await td.node({ name: "caller-c", cluster: lanC, lookup });
    const join = (lan: string, seed: string) => ({ [lan]: { seeds: [seed] }, [names.core]: { seeds: [inCore.gossipAddress!] }, [names.regionB]: { seeds: [inRegion.gossipAddress!] } });
    // One gateway per caller's cluster, each in core and region-b too: both instances are one hop away.
    const pinned = await gateway(td, { name: "gw-pinned", join: join(names.lanA, pinnedCaller.gossipAddress!), routes: `${Regional.name} pin ${names.regionB}` });
    const plain = await gateway(td, { name: "gw-plain", join: join(lanC, plainCaller.gossipAddress!) });
    await waitFor(
      () => pinned.routes(names.lanA).length > 0 && plain.routes(lanC).length > 0 && pinnedCaller.lookup(Regional).length > 0 && plainCaller.lookup(Regional).length > 0,
      15_000,
      "each lan hears of its gateway's route",
    );
    const reached = async (node: typeof pinnedCaller): Promise<Record<string, number>> => {
      const counts: Record<string, number> = {};
      const client = node.client(Regional);
      for (let i = 0; i < 40; i++) {
        const { node: where } = await client.where({}, { timeout: 10_000 });
        counts[where] = (counts[where] ?? 0) + 1;
      }
      return counts;
    };
    assert.deepEqual(await reached(pinnedCaller), { "region-svc": 40 }, "the pin rule on the gateway sent every call to region-b");
    const spread = await reached(plainCaller);
    // Without it, the same arrangement sends calls to core (the gateway's own choice): the rule made the difference.
    assert.ok((spread["core-svc"] ?? 0) > 0, `without the rule, calls reach core too: ${JSON.stringify(spread)}`);
  }));
