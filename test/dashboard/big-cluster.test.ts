// A cluster of 60 nodes in headless Chromium: past 50 nodes the page draws
// groups, one per set of services served ("calculator@1.2.0 ×54"), with the
// count of each state, the calls in flight summed and the links between
// groups added up; a smaller cluster beside it is drawn node by node.
import assert from "node:assert/strict";
import { it } from "node:test";
import { Calculator, handlers } from "../../examples/calculator/service.ts";
import { startDashboard } from "../../src/dashboard/index.ts";
import { startNode, type Node } from "../../src/index.ts";
import { join } from "node:path";
import { artifactsDir, chromiumMissing, launchBrowser } from "../support/browser.ts";
import { requireOrSkip } from "../support/require.ts";
import { until } from "./wait.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const CALCULATORS = 54;
const CALLERS = 6;

it("draws a cluster of 60 nodes as groups of the nodes that serve the same, with their figures added up", { timeout: 180_000 }, async (t) => {
  if (!requireOrSkip(t, chromiumMissing === undefined, chromiumMissing ?? "")) return;
  const cluster = `dash-big-${process.pid}`;
  const nodes: Node[] = [];
  t.after(() => Promise.all(nodes.map((node) => node.close({ timeout: 500 }))));
  const start = async (name: string): Promise<Node> => {
    const seeds = nodes.length > 0 ? [nodes[0]!.gossipAddress!] : [];
    const node = await startNode({ name, cluster, listen: "tcp://127.0.0.1:0", logger: silent, lookup: { gossip: "udp://127.0.0.1:0" }, seeds });
    nodes.push(node);
    return node;
  };
  for (let i = 0; i < CALCULATORS; i++) (await start(`calc-${String(i).padStart(2, "0")}`)).serve(Calculator, handlers);
  const callers: Node[] = [];
  for (let i = 0; i < CALLERS; i++) callers.push(await start(`front-${i}`));
  const found = Date.now() + 60_000;
  while (callers.some((caller) => caller.lookup(Calculator).length < CALCULATORS) && Date.now() < found) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(callers[0]!.lookup(Calculator).length, CALCULATORS, "every caller sees every calculator");
  // Bounded load: each caller adds until the test ends, at most 2 minutes.
  let stop = false;
  const until2 = Date.now() + 120_000;
  const load = Promise.all(
    callers.map(async (caller) => {
      const client = caller.client(Calculator);
      while (!stop && Date.now() < until2) {
        await client.add({ a: 1, b: 2 }).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }),
  );
  t.after(async () => {
    stop = true;
    await load;
  });

  const dashboard = await startDashboard({ nodes: [{ node: callers[0]!, hidden: false }], port: 0, interval: 500 });
  t.after(() => dashboard.close());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(dashboard.url);

  const calculators = page.locator(`#graph .node.group[data-members="${CALCULATORS}"]`);
  await until(async () => (await calculators.count()) === 1, `one group of the ${CALCULATORS} calculators`, 60_000);
  assert.equal(await calculators.getAttribute("data-name"), `calculator@1.2.0 ×${CALCULATORS}`);
  // Their states add up to the group (on a loaded machine some may be suspect for a moment).
  const title = (await calculators.locator("title").textContent()) ?? "";
  assert.match(title, /^54 nodes serving calculator@1\.2\.0: \d+ [a-z]+(, \d+ [a-z]+)*$/);
  assert.equal([...title.matchAll(/(\d+) (alive|suspect|dead|left)/g)].reduce((sum, m) => sum + Number(m[1]), 0), CALCULATORS);
  const fronts = page.locator(`#graph .node.group[data-members="${CALLERS}"]`);
  assert.equal(await fronts.getAttribute("data-name"), `calls only ×${CALLERS}`);
  assert.equal(await page.locator("#graph .node").count(), 2, "two circles stand for 60 nodes");
  // The callers' calls to the calculators are one arrow between the groups, with their sum.
  const groupIds = [await fronts.getAttribute("data-id"), await calculators.getAttribute("data-id")];
  const arrow = page.locator(`#graph .link[data-from="${groupIds[0]}"][data-to="${groupIds[1]}"] title`);
  await until(async () => Number(/: ([\d.]+)\/s/.exec((await arrow.textContent().catch(() => "")) ?? "")?.[1] ?? 0) > 0, "one arrow from the callers to the calculators, with calls per second");
  assert.equal(await page.locator("#graph .link").count(), 1, "the 6 × 54 caller → callee links add up to one arrow");
  assert.deepEqual(errors, []);
  const shot = join(artifactsDir("dashboard-big-cluster"), "big-cluster.png");
  await page.locator("#graph").screenshot({ path: shot });
  t.diagnostic(`screenshot: ${shot}`);
});
