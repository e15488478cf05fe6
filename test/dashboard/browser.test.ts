// The dashboard in headless Chromium, against real member processes under
// load in two clusters joined by a gateway and a real `amoeba dashboard`
// process: the graph shows every node, traffic appears on the links, a call
// from the form returns its result, recent calls show as traces across nodes,
// and a node killed with SIGKILL is marked dead. Screenshots are kept in the folder the test prints.
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { it } from "node:test";
import type { Page } from "playwright-core";
import { GATEWAY_LABEL } from "../../src/route-rules/route-label.ts";
import { CliProcess } from "../cli/support.ts";
import { artifactsDir, chromiumMissing, launchBrowser } from "../support/browser.ts";
import { requireOrSkip } from "../support/require.ts";
import { onSteady, openTrace, until } from "./wait.ts";
import { startMember } from "./members.ts";

/** Generous for a loaded machine: start-up, gossip and failure detection all take longer there. */
const WAIT_MS = 45_000;

it("draws two clusters under load, calls from the form, and marks a killed node dead", { timeout: 240_000 }, async (t) => {
  if (!requireOrSkip(t, chromiumMissing === undefined, chromiumMissing ?? "")) return;
  const core = `dash-core-${process.pid}`;
  const region = `dash-region-${process.pid}`;
  const calc1 = await startMember(t, { nodes: [{ name: "calc-1", cluster: core }], serve: true });
  const coreSeeds = [calc1.gossip];
  const region1 = await startMember(t, { nodes: [{ name: "region-calc", cluster: region }], serve: true });
  const regionSeeds = [region1.gossip];
  const [calc2] = await Promise.all([
    startMember(t, { nodes: [{ name: "calc-2", cluster: core, seeds: coreSeeds }], serve: true }),
    startMember(t, { nodes: [{ name: "front", cluster: core, seeds: coreSeeds }], load: true }),
    startMember(t, {
      nodes: [core, region].map((cluster, i) => ({ name: "gw-1", cluster, seeds: i === 0 ? coreSeeds : regionSeeds, labels: { [GATEWAY_LABEL]: `${core},${region}` } })),
    }),
  ]);

  const cli = new CliProcess(
    ["dashboard", "--seeds", `${core}=${coreSeeds[0]}`, "--seeds", `${region}=${regionSeeds[0]}`, "--port", "0", "--interval", "500"],
    (fn) => t.after(fn),
  );
  const url = (await cli.waitFor(/^amoeba: dashboard on (http:\/\/127\.0\.0\.1:\d+\/) for /m))[1]!;

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const shots = resolve(artifactsDir("dashboard"));
  console.log(`dashboard screenshots: ${shots}`);
  await page.goto(url);

  // calc-1, calc-2, front in one cluster; region-calc in the other; gw-1 once, between them.
  await waitForCount(page, "#graph svg .node", 5);
  assert.equal(await page.locator("#graph svg .cluster").count(), 2, "each cluster is a group");
  assert.equal(await page.locator("#graph svg .node.gateway").count(), 1, "the gateway is drawn once");
  await page.locator('#graph .link[data-from]:not(.idle)').first().waitFor({ timeout: WAIT_MS });
  // A link's error share shows once the callee's metrics have a window of calls (before, "-").
  const figures = /\/s · (p99|ewma) [\d.]+ ms · [\d.]+% err/;
  await until(async () => (await page.locator("#graph .link-label").allTextContents()).some((label) => figures.test(label)), "a link shows calls/s, latency and errors");
  await page.locator('#catalog .service[data-service="calculator"] tbody tr').first().waitFor({ timeout: WAIT_MS });
  // The gateway offers each cluster's calculator in the other: still listed once per cluster that serves it, the gateway never as an instance.
  assert.equal(await page.locator('#catalog .service[data-service="calculator"]').count(), 2, "once in each cluster");
  assert.equal(await page.locator('#catalog tbody tr:has(td:text-is("gw-1"))').count(), 0, "the gateway is not an instance");
  await page.screenshot({ path: join(shots, "1-topology.png"), fullPage: true });

  await page.selectOption("#call-method", { label: `${core} · calculator.add` });
  await page.fill("#call-input", '{"a": 20, "b": 22}');
  await page.click("#call-submit");
  await page.locator('#call-result[data-state="ok"]').waitFor({ timeout: WAIT_MS });
  assert.match((await page.locator("#call-result").textContent()) ?? "", /^42\n/);
  await page.locator("#call-result").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "2-call.png"), fullPage: true });

  // front's calls to the calculator, stitched from both sides: front's client span and the callee's server span.
  const stitched = page.locator('#recent details.trace:has(.span-row[data-kind="client"]):has(.span-row[data-kind="server"])').first();
  await stitched.waitFor({ timeout: WAIT_MS });
  // Open it: it stays shown while newer calls arrive, so it can be read.
  await openTrace(stitched);
  const id = await page.locator("#recent details.trace[open]").first().getAttribute("data-trace");
  await page.waitForTimeout(1_500);
  const trace = page.locator(`#recent details.trace[data-trace="${id}"][open]`);
  assert.equal(await trace.count(), 1, "an opened trace stays open and shown across updates");
  assert.match((await trace.textContent()) ?? "", /client calculator\.add front → calc-\d/);
  assert.match((await trace.textContent()) ?? "", /server calculator\.add front → calc-\d/);
  await onSteady(() => trace.scrollIntoViewIfNeeded());
  await page.screenshot({ path: join(shots, "3-recent-calls.png"), fullPage: true });

  await calc2.crash();
  await page.locator('#graph .node[data-name="calc-2"][data-state="dead"]').waitFor({ timeout: WAIT_MS });
  await waitForCount(page, "#graph .node.alive", 4); // the others stay alive (a loaded member may be suspect for a moment)
  await page.screenshot({ path: join(shots, "4-dead-node.png"), fullPage: true });

  assert.deepEqual(errors, [], "the page ran without errors");
});

async function waitForCount(page: Page, selector: string, count: number): Promise<void> {
  await until(async () => (await page.locator(selector).count()) === count, `${selector}: expected ${count}`, WAIT_MS).catch(async (error: Error) => {
    throw new Error(`${error.message}, saw ${await page.locator(selector).count()}`);
  });
}
