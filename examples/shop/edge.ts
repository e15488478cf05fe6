/**
 * The shop's edge: the door through which end users reach the shop over HTTP
 * (`POST /rpc/catalog/check`, …). It is a member of the core cluster like any
 * service process and finds the public services by look-up; the simulated
 * users in main.ts call it.
 */
import { EDGE_LABEL, startEdge } from "../../src/edge/index.ts";
import { Catalog, Orders, Pricing } from "./contracts.ts";
import { runService } from "./service-process.ts";

// The label lets the dashboard draw the end users in front of this node.
await runService("edge", { needs: [Catalog, Pricing, Orders], labels: { [EDGE_LABEL]: "http" } }, async (node) => {
  // Port 0: a free one, reported to main.ts; the users are told where it is.
  const edge = await startEdge({ node, port: 0, rateLimit: false });
  return { url: edge.url };
});
