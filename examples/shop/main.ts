/**
 * A small shop as a distributed system on this machine: catalog, pricing and
 * orders each run in a process of their own and talk over Unix sockets. No
 * process is told where another listens: all join the cluster `shop-<this
 * pid>` and find each other by look-up. This process starts them, then plays
 * the customer.
 *
 *   npm start              a round every 2 s until Ctrl-C
 *   npm start -- --once    one round, then exit
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
import { startNode, type Node } from "../../src/index.ts";
// Only to tidy up this run's (by then empty) rendezvous folder at the end.
import { rendezvousDir } from "../../src/lookup/rendezvous.ts";
import { Children } from "./children.ts";
import { Catalog, Orders, Pricing } from "./contracts.ts";
import { awaitServices, describe, liveMembers, SHOP_LOOKUP, shopCluster } from "./look-up.ts";
import { Shopper } from "./shopper.ts";

const once = process.argv.includes("--once");
const ROUND_EVERY = 2_000;

// What ends the show: a signal, or a child that exits on its own.
const stop = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => stop.abort(signal));
const children = new Children();
children.onUnexpectedExit((error) => stop.abort(error));

const dir = await mkdtemp(join(tmpdir(), "amoeba-shop-"));
// One cluster per run, so that two shops running at once never find each other's services.
const cluster = shopCluster(process.pid);
let shopper: Node | undefined;
try {
  console.log(`amoeba shop: catalog, pricing and orders, each in its own process; the shopper is pid ${process.pid}`);
  const start = async (name: string) => {
    process.stdout.write(`starting ${name}… `);
    const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
    // Where to listen, and which cluster to join; never where the others are.
    const child = await children.start(name, file, ["--listen", `unix://${join(dir, `${name}.sock`)}`, "--cluster", cluster]);
    console.log(`ready on ${child.address} (pid ${child.pid}, ${Math.round(child.startMs)} ms)`);
    return child;
  };
  const catalog = await start("catalog");
  const pricing = await start("pricing");
  // orders calls catalog and pricing: it waits until the look-up shows both before it reports ready.
  const orders = await start("orders");

  // The shopper is a node of the cluster too: node.client(Contract) finds whichever node serves it.
  shopper = await startNode({ name: "shopper", cluster, lookup: SHOP_LOOKUP });
  const looking = performance.now();
  const found = await awaitServices(shopper, [Catalog, Pricing, Orders], { signal: stop.signal });
  if (found) {
    const ms = Math.round(performance.now() - looking);
    console.log(`look-up: ${liveMembers(shopper)} members in cluster ${cluster} — ${describe(found)} (found in ${ms} ms)`);
  }
  const shop = new Shopper(shopper, new Map([catalog, pricing, orders].map((child) => [child.name, child.pid])));
  console.log("");

  for (let round = 1; !stop.signal.aborted; round++) {
    await shop.round(round, round === 1);
    if (once) break;
    if (round === 1) console.log("\nnext rounds in short, one every 2 s; Ctrl-C stops");
    await sleep(ROUND_EVERY, undefined, { signal: stop.signal }).catch(() => {});
  }
  if (stop.signal.reason instanceof Error) throw stop.signal.reason;
} catch (error) {
  const cause = stop.signal.reason instanceof Error ? stop.signal.reason : error;
  console.error(`\nfailed: ${cause instanceof Error ? cause.message : String(cause)}`);
  process.exitCode = 1;
} finally {
  if (typeof stop.signal.reason === "string") console.log(`\n${stop.signal.reason}: stopping`);
  await shopper?.close({ timeout: 1_000 });
  console.log(`stopped: ${(await children.stopAll()).join(" · ")}`);
  await rm(dir, { recursive: true, force: true });
  // Every member of this run's cluster is stopped by now: its rendezvous folder can go too.
  await rm(rendezvousDir(cluster), { recursive: true, force: true });
}
