/**
 * A small shop as a distributed system on this machine: catalog, pricing and
 * orders each run in a process of their own and talk over Unix sockets. This
 * process starts them, then plays the customer.
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
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { startNode, type Node } from "../../src/index.ts";
import { Children } from "./children.ts";
import { Shopper } from "./shopper.ts";

const once = process.argv.includes("--once");
const ROUND_EVERY = 2_000;

// What ends the show: a signal, or a child that exits on its own.
const stop = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => stop.abort(signal));
const children = new Children();
children.onUnexpectedExit((error) => stop.abort(error));

const dir = await mkdtemp(join(tmpdir(), "amoeba-shop-"));
let shopper: Node | undefined;
try {
  console.log(`amoeba shop: catalog, pricing and orders, each in its own process; the shopper is pid ${process.pid}`);
  const start = async (name: string, args: string[] = []) => {
    process.stdout.write(`starting ${name}… `);
    const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
    const child = await children.start(name, file, ["--listen", `unix://${join(dir, `${name}.sock`)}`, ...args]);
    console.log(`ready on ${child.address} (pid ${child.pid}, ${Math.round(child.startMs)} ms)`);
    return child;
  };
  const catalog = await start("catalog");
  const pricing = await start("pricing");
  const orders = await start("orders", ["--connect", catalog.address, "--connect", pricing.address]);

  // The shopper is a node too: once connected, node.client(Contract) reaches whichever node serves it.
  shopper = await startNode({ name: "shopper" });
  for (const child of [catalog, pricing, orders]) await shopper.connect(child.address);
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
}
