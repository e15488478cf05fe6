/**
 * A gateway between the shop's core and its second region: a member of both
 * clusters that advertises into each the services it can reach in the other,
 * and forwards calls to them. main.ts runs two, so that either may die.
 *
 *   node --import tsx examples/shop/gateway.ts --name gateway-1 --join core --join region-b
 */
import { parseArgs } from "node:util";
import { startGateway, type Gateway } from "../../src/index.ts";
import { SHOP_LOOKUP, WATCHED } from "./look-up.ts";
import { stopWhenAsked, type ReadyMessage } from "./service-process.ts";

const { values } = parseArgs({
  options: {
    name: { type: "string", default: `gateway-${process.pid}` },
    join: { type: "string", multiple: true, default: ["core", "region-b"] },
  },
});

let gateway: Gateway | undefined;
// Stops advertising, lets calls in flight finish, then leaves both clusters.
const stop = stopWhenAsked(async () => gateway?.close());

// No seeds: in each cluster the gateway finds the members on this machine through the local rendezvous.
gateway = await startGateway({
  name: values.name,
  join: Object.fromEntries(values.join.map((cluster) => [cluster, {}])),
  membership: SHOP_LOOKUP.membership,
  // Kept for the dashboard, as every node of the shop does: a call's path then shows both sides of the gateway.
  traces: WATCHED.traces,
  drainTimeout: 2_000,
});
const address = gateway.node(values.join[0]!).addresses[0]!;
if (process.send) {
  if (!process.connected) await stop();
  process.send({ ready: address } satisfies ReadyMessage);
} else {
  console.log(`${gateway.name} (pid ${process.pid}) joins ${gateway.clusters.join(" and ")}`);
}
