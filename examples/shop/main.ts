/**
 * A small shop as a distributed system on this machine, the whole picture in
 * one command: a core cluster (catalog, carts, orders and the edge), a second region
 * (two pricing instances) behind two gateways, end users calling the edge over
 * HTTP, and a live dashboard of it all. Every service runs in a process of its
 * own; no process is told where another listens: they find each other by
 * look-up (clusters `core-<this pid>` and `region-b-<this pid>`), and calls
 * from core reach pricing through whichever gateway is best. This process
 * starts them all, serves the dashboard, and plays the customers.
 *
 *   npm start                          a round every 2 s until Ctrl-C
 *   npm start -- --once                one round and a moment of user traffic, then exit
 *   npm start -- --dashboard-port 0    the dashboard on a free port (default 8090, or a free one if taken)
 *
 * Whatever happens — Ctrl-C, SIGTERM, an error, a child that dies — every
 * process started here is stopped before this one exits.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startDashboard, type Dashboard, type DashboardOptions } from "../../src/dashboard/index.ts";
import { startNode, type Node } from "../../src/index.ts";
// Only to tidy up this run's (by then empty) rendezvous folders at the end.
import { rendezvousDir } from "../../src/lookup/rendezvous.ts";
import { Children, type Child } from "./children.ts";
import { Carts, Catalog, Orders, Pricing } from "./contracts.ts";
import { awaitServices, describe, liveMembers, SHOP_LOOKUP, shopClusters, WATCHED } from "./look-up.ts";
import { Shopper } from "./shopper.ts";
import { EndUsers } from "./users.ts";

const { values: args } = parseArgs({
  options: {
    once: { type: "boolean", default: false },
    "dashboard-port": { type: "string", default: "8090" },
  },
});
const ROUND_EVERY = 2_000;
/** With --once: how long the end users call the edge before the summary and the exit. */
const ONCE_TRAFFIC_MS = 2_000;

// What ends the show: a signal, or a child that exits on its own.
const stop = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => stop.abort(signal));
const children = new Children();
children.onUnexpectedExit((error) => stop.abort(error));

const dir = await mkdtemp(join(tmpdir(), "amoeba-shop-"));
// Clusters of their own per run, so that two shops running at once never find each other's services.
const clusters = shopClusters(process.pid);
let shopper: Node | undefined;
let regionView: Node | undefined;
let dashboard: Dashboard | undefined;
let users: EndUsers | undefined;
try {
  console.log(`amoeba shop: clusters ${clusters.core} and ${clusters.regionB}, two gateways, an edge and end users; this is pid ${process.pid}`);

  // The shopper is a member of core; a quiet member of region-b lets the dashboard see that cluster too.
  shopper = await startNode({ name: "shopper", cluster: clusters.core, lookup: SHOP_LOOKUP, ...WATCHED });
  regionView = await startNode({ name: "dashboard", cluster: clusters.regionB, lookup: SHOP_LOOKUP });
  dashboard = await startDashboardOn(Number(args["dashboard-port"]), [shopper, { node: regionView, hidden: true }]);
  console.log(`dashboard: ${dashboard.url}  ← open it now; the picture fills in as the processes start\n`);

  const pids = new Map<string, number>();
  const start = async (file: string, name: string, extra: string[]): Promise<Child> => {
    process.stdout.write(`starting ${name}… `);
    const path = fileURLToPath(new URL(`./${file}.ts`, import.meta.url));
    // Where to listen and which cluster to join; never where the others are.
    const child = await children.start(name, path, ["--name", name, ...extra]);
    pids.set(name, child.pid);
    console.log(`ready on ${child.url ?? child.address} (pid ${child.pid}, ${Math.round(child.startMs)} ms)`);
    return child;
  };
  const service = (file: string, name: string, cluster: string) =>
    start(file, name, ["--listen", `unix://${join(dir, `${name}.sock`)}`, "--cluster", cluster]);

  // Inside out: each process finds what it needs already there.
  console.log(`region-b (${clusters.regionB}):`);
  await service("pricing", "pricing-1", clusters.regionB);
  await service("pricing", "pricing-2", clusters.regionB);
  console.log(`gateways between ${clusters.core} and ${clusters.regionB}:`);
  for (const name of ["gateway-1", "gateway-2"]) await start("gateway", name, ["--join", clusters.core, "--join", clusters.regionB]);
  console.log(`core (${clusters.core}):`);
  await service("catalog", "catalog", clusters.core);
  // carts keeps its state in this run's folder: each run starts with empty carts.
  await start("carts", "carts", ["--listen", `unix://${join(dir, "carts.sock")}`, "--cluster", clusters.core, "--state", dir]);
  // orders calls catalog and pricing: it reports ready once the look-up shows both (pricing through a gateway).
  await service("orders", "orders", clusters.core);
  const edge = await service("edge", "edge", clusters.core);

  const looking = performance.now();
  const found = await awaitServices(shopper, [Catalog, Carts, Pricing, Orders], { signal: stop.signal });
  if (found) {
    const ms = Math.round(performance.now() - looking);
    console.log(`look-up: ${liveMembers(shopper)} members in ${clusters.core} — ${describe(found)} (found in ${ms} ms)`);
  }
  const shop = new Shopper(shopper, pids);
  users = new EndUsers(edge.url!);
  console.log("");

  for (let round = 1; !stop.signal.aborted; round++) {
    await shop.round(round, round === 1);
    if (round === 1) {
      users.start(stop.signal);
      console.log(`\nend users now call the edge at ${edge.url} (POST /rpc/…); watch them on the dashboard`);
      if (!args.once) console.log("next rounds in short, one every 2 s; Ctrl-C stops");
    }
    if (args.once) {
      await sleep(ONCE_TRAFFIC_MS, undefined, { signal: stop.signal }).catch(() => {});
      console.log(users.summary(ONCE_TRAFFIC_MS / 1_000));
      break;
    }
    await sleep(ROUND_EVERY, undefined, { signal: stop.signal }).catch(() => {});
    if (round % 5 === 0) console.log(users.summary((5 * ROUND_EVERY) / 1_000));
  }
  if (stop.signal.reason instanceof Error) throw stop.signal.reason;
} catch (error) {
  const cause = stop.signal.reason instanceof Error ? stop.signal.reason : error;
  console.error(`\nfailed: ${cause instanceof Error ? cause.message : String(cause)}`);
  process.exitCode = 1;
} finally {
  if (typeof stop.signal.reason === "string") console.log(`\n${stop.signal.reason}: stopping`);
  if (!stop.signal.aborted) stop.abort("done");
  await users?.stopped();
  await dashboard?.close();
  await Promise.all([shopper?.close({ timeout: 1_000 }), regionView?.close({ timeout: 1_000 })]);
  console.log(`stopped: ${(await children.stopAll()).join(" · ")}`);
  await rm(dir, { recursive: true, force: true });
  // Every member of this run's clusters is stopped by now: their rendezvous folders can go too.
  for (const cluster of [clusters.core, clusters.regionB]) await rm(rendezvousDir(cluster), { recursive: true, force: true });
}

/** The dashboard on `port`, or on a free port when that one is taken (another shop may be running). */
async function startDashboardOn(port: number, nodes: DashboardOptions["nodes"]): Promise<Dashboard> {
  try {
    return await startDashboard({ nodes, port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || port === 0) throw error;
    return startDashboard({ nodes, port: 0 });
  }
}
